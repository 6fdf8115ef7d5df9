export { CoreError, type CoreErrorJSON, type CoreErrorOptions } from './core-error.js';
