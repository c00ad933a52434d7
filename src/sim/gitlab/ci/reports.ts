// Artifact report types: default file names and upload formats, as GitLab's job-artifact enum has them
// (gitlab-runner-api.md §5.3).

export type ArtifactFormat = 'zip' | 'gzip' | 'raw';

interface ReportType {
  fileName: string;
  format: ArtifactFormat;
}

export const REPORT_TYPES: Readonly<Record<string, ReportType>> = {
  junit: { fileName: 'junit.xml', format: 'gzip' },
  metrics: { fileName: 'metrics.txt', format: 'gzip' },
  dotenv: { fileName: '.env', format: 'gzip' },
  cobertura: { fileName: 'cobertura-coverage.xml', format: 'gzip' },
  jacoco: { fileName: 'jacoco-coverage.xml', format: 'gzip' },
  cyclonedx: { fileName: 'gl-sbom.cdx.json', format: 'gzip' },
  annotations: { fileName: 'gl-annotations.json', format: 'gzip' },
  lsif: { fileName: 'lsif.json', format: 'zip' },
  accessibility: { fileName: 'gl-accessibility.json', format: 'raw' },
  codequality: { fileName: 'gl-code-quality-report.json', format: 'raw' },
  sast: { fileName: 'gl-sast-report.json', format: 'raw' },
  secret_detection: { fileName: 'gl-secret-detection-report.json', format: 'raw' },
  dependency_scanning: { fileName: 'gl-dependency-scanning-report.json', format: 'raw' },
  container_scanning: { fileName: 'gl-container-scanning-report.json', format: 'raw' },
  cluster_image_scanning: { fileName: 'gl-cluster-image-scanning-report.json', format: 'raw' },
  dast: { fileName: 'gl-dast-report.json', format: 'raw' },
  license_scanning: { fileName: 'gl-license-scanning-report.json', format: 'raw' },
  performance: { fileName: 'performance.json', format: 'raw' },
  browser_performance: { fileName: 'browser-performance.json', format: 'raw' },
  load_performance: { fileName: 'load-performance.json', format: 'raw' },
  terraform: { fileName: 'tfplan.json', format: 'raw' },
  requirements: { fileName: 'requirements.json', format: 'raw' },
  coverage_fuzzing: { fileName: 'gl-coverage-fuzzing.json', format: 'raw' },
  api_fuzzing: { fileName: 'gl-api-fuzzing-report.json', format: 'raw' },
};

/** The format GitLab accepts for an uploaded `artifact_type` (internal types included). */
export function formatForArtifactType(type: string): ArtifactFormat | undefined {
  if (type === 'archive') return 'zip';
  if (type === 'metadata') return 'gzip';
  if (type === 'trace') return 'raw';
  return REPORT_TYPES[type]?.format;
}
