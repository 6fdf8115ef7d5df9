import type { Command } from 'commander';

/** `rampart runtime session save|load|list|delete` (placeholder until the vault lands). */
export function registerSessionCommands(_runtime: Command): void {}
