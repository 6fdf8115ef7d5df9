/** What every Rampart a test or a bench starts begins with: fixed throwaway keys and a free loopback port. */
import { type AddressInfo, createServer } from 'node:net';

/** The master key material of test instances (fixed, so a test can build the same key ring). */
export const TEST_MASTER_KEY = Buffer.alloc(32, 7);
/** The session JWT secret of test instances (fixed, so a test can forge tokens against it). */
export const TEST_JWT_SECRET = Buffer.alloc(32, 9);

/** RAMPART_MASTER_KEYS holding {@link TEST_MASTER_KEY} under `keyId`. */
export const testMasterKeys = (keyId = 'test1'): string => `${keyId}:${TEST_MASTER_KEY.toString('base64')}`;

/**
 * Configuration variables for a throwaway instance: fixed keys under `keyId`, a data directory that must never be
 * written, and bcrypt cost 4 to keep runs fast (one core test pins the production default of 12).
 */
export const testServerEnv = (
  keyId = 'test1',
  dataDir = '/nonexistent-tests-never-write-here',
): Record<string, string> => ({
  NODE_ENV: 'test',
  RAMPART_MASTER_KEYS: testMasterKeys(keyId),
  RAMPART_JWT_SECRET: TEST_JWT_SECRET.toString('base64'),
  RAMPART_DATA_DIR: dataDir,
  RAMPART_TEST_BCRYPT_COST: '4',
});

/** A loopback port that was free a moment ago (the kernel hands ephemeral ports out in turn, not reused at once). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
