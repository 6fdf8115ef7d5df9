export {
  redactAnthropicRequest,
  rewriteAnthropicBlock,
  rewriteAnthropicMessage,
  rewriteAnthropicRequest,
  rewriteJsonValue,
} from './anthropic.js';
export {
  type ChatMessageLike,
  type ChatRedactOptions,
  type ChatTextPart,
  type ChatTextRewrite,
  redactChatMessages,
  redactingRewrite,
  rewriteChatCompletion,
  rewriteChatMessage,
} from './chat.js';
export { detect } from './detect.js';
export { redactJsonText } from './json.js';
export { PII_KINDS, type PiiKind, type PiiSpan, REPLACEMENTS, type RedactOptions } from './kinds.js';
export { redact } from './redact.js';
export { maskReplacer, PlaceholderMap, type Replacer, redactWith } from './reversible.js';
export { heldTail, StreamRedactor, StreamRestorer } from './stream.js';
