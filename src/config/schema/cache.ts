// `[runners.cache]` (kubernetes-executor.md §1.3). Upstream spells these keys in CamelCase (`Type`,
// `ServerAddress`); Go's TOML decoder also matches them case-insensitively, and so does podrunner.
import { z } from 'zod';
import { int } from './values.ts';

export const cacheS3Schema = z.object({
  ServerAddress: z.string().optional(),
  AccessKey: z.string().optional(),
  SecretKey: z.string().optional(),
  SessionToken: z.string().optional(),
  BucketName: z.string().optional(),
  BucketLocation: z.string().optional(),
  Insecure: z.boolean().default(false),
  AuthenticationType: z.enum(['', 'access-key', 'iam']).default(''),
  ServerSideEncryption: z.string().optional(),
  ServerSideEncryptionKeyID: z.string().optional(),
  DualStack: z.boolean().default(true),
  PathStyle: z.boolean().optional(),
  Accelerate: z.boolean().default(false),
  RoleARN: z.string().optional(),
  UploadRoleARN: z.string().optional(),
  AssumeRoleMaxConcurrency: int.default(5),
  DisableAssumeRoleCredentialsCaching: z.boolean().default(false),
});

export const cacheGcsSchema = z.object({
  CredentialsFile: z.string().optional(),
  AccessID: z.string().optional(),
  PrivateKey: z.string().optional(),
  BucketName: z.string().optional(),
  UniverseDomain: z.string().optional(),
});

export const cacheAzureSchema = z.object({
  AccountName: z.string().optional(),
  AccountKey: z.string().optional(),
  ContainerName: z.string().optional(),
  StorageDomain: z.string().optional(),
});

export const cacheConfigSchema = z.object({
  Type: z.enum(['', 's3', 'gcs', 'azure']).default(''),
  Path: z.string().default(''),
  Shared: z.boolean().default(false),
  MaxUploadedArchiveSize: int.min(0).default(0),
  s3: cacheS3Schema.optional(),
  gcs: cacheGcsSchema.optional(),
  azure: cacheAzureSchema.optional(),
});

export type CacheConfig = z.output<typeof cacheConfigSchema>;
