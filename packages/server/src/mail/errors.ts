/** A delivery failure that no retry can fix: the outbox marks the message failed at once. */
export class PermanentMailError extends Error {
  override readonly name = 'PermanentMailError';
}
