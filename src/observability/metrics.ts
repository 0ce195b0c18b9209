/** Counters exposed at `/metrics` in Prometheus' text format. */
export class Metrics {
  #counters = new Map<string, { help: string; values: Map<string, number> }>();

  define(name: string, help: string): void {
    this.#counters.set(name, { help, values: new Map() });
  }

  inc(name: string, label = '', by = 1): void {
    const counter = this.#counters.get(name);
    if (!counter) return;
    counter.values.set(label, (counter.values.get(label) ?? 0) + by);
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, { help, values }] of this.#counters) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      if (values.size === 0) lines.push(`${name} 0`);
      for (const [label, value] of values) lines.push(label ? `${name}{${label}} ${value}` : `${name} ${value}`);
    }
    return lines.join('\n') + '\n';
  }
}

export function createMetrics(): Metrics {
  const metrics = new Metrics();
  metrics.define('tessera_logins_started_total', 'Login transactions started, by kind');
  metrics.define('tessera_sessions_created_total', 'Sessions created after a successful callback');
  metrics.define('tessera_callback_errors_total', 'Callbacks rejected, by reason');
  metrics.define('tessera_logouts_total', 'Local logouts');
  return metrics;
}
