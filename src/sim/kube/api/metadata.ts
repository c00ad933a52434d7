// ObjectMeta rules shared by every kind: names, labels, annotations, owner references, finalizers.

import { labelValueErrors, nameErrors, qualifiedNameErrors } from './names.ts';
import type { ResourceDef } from './resources.ts';
import { type FieldError, invalidField, requiredField, tooLongField } from './status.ts';
import type { KubeObject } from './types.ts';

const maxAnnotationBytes = 256 * 1024;

export function validateMetadata(def: ResourceDef, obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const meta = obj.metadata;
  const name = meta.name ?? '';
  if (name === '') errors.push(requiredField('metadata.name', 'name or generateName is required'));
  else
    for (const msg of nameErrors(name, def.nameRule)) errors.push(invalidField('metadata.name', name, msg));
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    for (const msg of qualifiedNameErrors(key)) errors.push(invalidField('metadata.labels', key, msg));
    if (typeof value === 'string')
      for (const msg of labelValueErrors(value)) errors.push(invalidField('metadata.labels', value, msg));
  }
  let annotationBytes = 0;
  for (const [key, value] of Object.entries(meta.annotations ?? {})) {
    for (const msg of qualifiedNameErrors(key.toLowerCase()))
      errors.push(invalidField('metadata.annotations', key, msg));
    annotationBytes += key.length + String(value).length;
  }
  if (annotationBytes > maxAnnotationBytes)
    errors.push(tooLongField('metadata.annotations', maxAnnotationBytes));
  (meta.ownerReferences ?? []).forEach((ref, i) => {
    const path = `metadata.ownerReferences[${i}]`;
    if (!ref.apiVersion)
      errors.push(invalidField(`${path}.apiVersion`, ref.apiVersion ?? '', 'version must not be empty'));
    if (!ref.kind) errors.push(invalidField(`${path}.kind`, ref.kind ?? '', 'kind must not be empty'));
    if (!ref.name) errors.push(invalidField(`${path}.name`, ref.name ?? '', 'name must not be empty'));
    if (!ref.uid) errors.push(invalidField(`${path}.uid`, ref.uid ?? '', 'uid must not be empty'));
  });
  const controllers = (meta.ownerReferences ?? []).filter((r) => r.controller === true);
  if (controllers.length > 1) {
    errors.push(
      invalidField(
        'metadata.ownerReferences',
        controllers,
        'Only one reference can have Controller set to true',
      ),
    );
  }
  (meta.finalizers ?? []).forEach((f) => {
    for (const msg of qualifiedNameErrors(f)) errors.push(invalidField('metadata.finalizers', f, msg));
  });
  return errors;
}
