// Long-running responses (watches, followed logs) that are still open, so a server that stops can end
// them cleanly, as a real API server does on shutdown, instead of cutting connections mid-body.
export class OpenStreams {
  private readonly stops = new Set<() => void>();

  /** Registers a stream's `finish`; returns the function that unregisters it. */
  add(stop: () => void): () => void {
    this.stops.add(stop);
    return () => this.stops.delete(stop);
  }

  get size(): number {
    return this.stops.size;
  }

  endAll(): void {
    for (const stop of [...this.stops]) stop();
    this.stops.clear();
  }
}
