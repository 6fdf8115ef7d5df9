/** Why a sign-in failed, for the dashboard (a code, never the provider's raw error). */
export class OidcRefusal extends Error {
  constructor(
    readonly reason:
      | 'unknown_provider'
      | 'state_invalid'
      | 'browser_mismatch'
      | 'provider_error'
      | 'token_invalid'
      | 'email_missing'
      | 'email_not_verified'
      | 'already_linked',
    message: string,
  ) {
    super(message);
  }
}
