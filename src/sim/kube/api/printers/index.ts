// Which printer serves which resource.
import { ageSince } from '../time.ts';
import type { KubeObject } from '../types.ts';
import {
  configMapPrinter,
  eventPrinter,
  leasePrinter,
  namespacePrinter,
  nodePrinter,
  secretPrinter,
  serviceAccountPrinter,
  servicePrinter,
} from './kinds.ts';
import { podPrinter } from './pods.ts';
import { ageColumn, nameColumn, type Printer } from './table.ts';

const genericPrinter: Printer<KubeObject> = {
  columns: [nameColumn, ageColumn],
  row: (obj, now) => ({ cells: [obj.metadata.name ?? '', ageSince(obj.metadata.creationTimestamp, now)] }),
};

const printers: Record<string, Printer<KubeObject>> = {
  pods: podPrinter as unknown as Printer<KubeObject>,
  secrets: secretPrinter,
  configmaps: configMapPrinter,
  events: eventPrinter,
  services: servicePrinter,
  namespaces: namespacePrinter,
  nodes: nodePrinter,
  serviceaccounts: serviceAccountPrinter,
  leases: leasePrinter,
};

export function printerFor(resource: string): Printer<KubeObject> {
  return printers[resource] ?? genericPrinter;
}
