// The `meta.k8s.io` Table: column definitions and rows, as the API server's table convertor builds them.
// The server always fills every cell (priority-1 columns included); kubectl hides priority 1 unless -o wide.

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export type Cell = string | number | boolean;

export interface RowCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface PrintedRow {
  cells: Cell[];
  conditions?: RowCondition[];
}

export interface Printer<T> {
  columns: ColumnDefinition[];
  row(obj: T, now: number): PrintedRow;
}

export function column(
  name: string,
  description: string,
  options: { priority?: number; format?: string } = {},
): ColumnDefinition {
  return {
    name,
    type: 'string',
    format: options.format ?? '',
    description,
    priority: options.priority ?? 0,
  };
}

export const nameColumn = column(
  'Name',
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  { format: 'name' },
);

export const ageColumn = column(
  'Age',
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
);
