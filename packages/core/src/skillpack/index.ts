export { type ArchiveEntry, readArchive, writeArchive } from './archive.js';
export { SkillPackError, type SkillPackErrorCode } from './errors.js';
export {
  ed25519Sign,
  ed25519Verify,
  generateSigningKeyPair,
  keyIdOf,
  parsePrivateKey,
  parsePublicKey,
  publicKeyOf,
} from './keys.js';
export {
  checkManifest,
  decodeManifest,
  encodeManifest,
  MANIFEST_FORMAT,
  MAX_FILES,
  MAX_VERSION,
  type Manifest,
  type ManifestFile,
  SKILL_NAME,
  skillNameProblem,
  versionProblem,
} from './manifest.js';
export {
  authMaterialError,
  buildPackage,
  type PackageFile,
  type SignatureDoc,
  type VerifiedPackage,
  type VerifyOptions,
  verifyPackage,
} from './package.js';
export { comparePaths, MAX_PATH_BYTES, packagePathProblem, pathCollisions } from './paths.js';
export { type Finding, type FindingKind, scanFile } from './scan.js';
