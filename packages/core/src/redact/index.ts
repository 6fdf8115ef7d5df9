export { type ChatMessageLike, type ChatTextPart, redactChatMessages } from './chat.js';
export { detect } from './detect.js';
export { PII_KINDS, type PiiKind, type PiiSpan, REPLACEMENTS, type RedactOptions } from './kinds.js';
export { redact } from './redact.js';
