import cliProgress from 'cli-progress';

export interface Progress {
  update(label: string, done: number, total: number): void;
  stop(): void;
}

/** A progress bar on a TTY; plain periodic lines otherwise (CI logs, pipes). Always on stderr. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: '{label} [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    let current = '';
    return {
      update(label, done, total) {
        if (label !== current) {
          if (current) bar.stop();
          current = label;
          bar.start(total, done, { label });
        } else {
          bar.setTotal(total);
          bar.update(done, { label });
        }
      },
      stop: () => bar.stop(),
    };
  }
  let last = '';
  return {
    update(label, done, total) {
      const line = `${label}: ${done}/${total}`;
      if (line !== last) stream.write(`${line}\n`);
      last = line;
    },
    stop() {},
  };
}
