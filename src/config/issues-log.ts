// Groups config warnings for the log: one line per kind instead of one per key.
import type { ConfigIssue } from './load.ts';
import { formatIssue } from './load.ts';

export interface IssueGroup {
  message: string;
  keys: string[];
}

export function groupWarnings(warnings: ConfigIssue[]): IssueGroup[] {
  const groups = new Map<string, string[]>();
  const add = (message: string, key: string) => {
    const list = groups.get(message) ?? [];
    list.push(key);
    groups.set(message, list);
  };
  for (const w of warnings) {
    const where = `${w.path ?? ''}${w.line !== undefined ? ` (line ${w.line})` : ''}`;
    if (w.code === 'CONFIG_NOT_ACTED_ON' || w.code === 'CONFIG_UNKNOWN_KEY') add(w.message, where);
    else add(formatIssue(w), '');
  }
  return [...groups].map(([message, keys]) => ({ message, keys: keys.filter(Boolean) }));
}
