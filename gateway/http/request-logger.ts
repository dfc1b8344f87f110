// The request's logger, made when the request first writes a line. Fastify gives every request a child logger, and a
// pino child costs a few microseconds to make (its bindings are serialized up front): at level warn most requests
// write nothing, and at info the one access line still gets the same child, made at that moment.
import type { FastifyBaseLogger } from 'fastify';

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** What pino adds to the FastifyBaseLogger surface and this module relies on. */
type LevelAware = FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };

class LazyChildLogger {
  readonly #parent: LevelAware;
  readonly #bindings: Bindings;
  readonly #options: ChildOptions;
  #child: FastifyBaseLogger | undefined;

  constructor(parent: LevelAware, bindings: Bindings, options: ChildOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  /** The pino child this logger stands for, made on first use; every line goes through it. */
  #logger(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options);
    return this.#child;
  }

  #isEnabled(level: Level): boolean {
    if (this.#child !== undefined) return true;
    // A logger that cannot say which levels it writes gets its child at once.
    return typeof this.#parent.isLevelEnabled !== 'function' || this.#parent.isLevelEnabled(level);
  }

  get level(): string {
    return this.#child?.level ?? this.#parent.level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }

  silent(): void {}

  static {
    for (const level of LEVELS) {
      Object.defineProperty(LazyChildLogger.prototype, level, {
        value(this: LazyChildLogger, ...args: unknown[]): void {
          if (!this.#isEnabled(level)) return;
          (this.#logger()[level] as (...line: unknown[]) => void)(...args);
        },
      });
    }
  }
}

/**
 * A child of `parent` with `bindings`, made only when a line at an enabled level is written (or its level is set, or
 * a child of it is asked for). Lines are exactly the pino child's. With a level in `options` the child is made at
 * once, since the parent's level would not say which lines it writes.
 */
export function lazyChildLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildOptions = {},
): FastifyBaseLogger {
  if (options.level !== undefined) return parent.child(bindings, options);
  return new LazyChildLogger(parent, bindings, options) as unknown as FastifyBaseLogger;
}
