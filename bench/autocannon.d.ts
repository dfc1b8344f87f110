// Types for the part of the autocannon 9 API (https://github.com/mcollina/autocannon#api) the benchmarks use;
// the package ships none. Only what bench/load.ts calls is declared, so a wrong option fails to type-check.
declare module 'autocannon' {
  export type RequestParams = {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
  };

  export type AutocannonRequest = RequestParams & {
    /** Called before each request is sent; its return value is what goes on the wire. */
    setupRequest?: (request: RequestParams, context: Record<string, unknown>) => RequestParams;
  };

  export type Options = {
    url: string;
    connections?: number;
    /** Seconds; ignored when `amount` is set. */
    duration?: number;
    /** Total number of requests; the run ends when all of them have been answered. */
    amount?: number;
    pipelining?: number;
    /** Per-request timeout in seconds. */
    timeout?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    requests?: AutocannonRequest[];
  };

  export type Histogram = {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p99: number;
    p99_9?: number;
  };

  export type Result = {
    /** Seconds actually run. */
    'duration': number;
    'errors': number;
    'timeouts': number;
    'non2xx': number;
    'resets': number;
    '2xx': number;
    '4xx': number;
    '5xx': number;
    'statusCodeStats': Record<string, { count: number }>;
    /** Milliseconds. */
    'latency': Histogram;
    /** Requests per second samples; `total` is the number of completed requests, `sent` those written. */
    'requests': Histogram & { sent: number };
    'throughput': Histogram;
  };

  export default function autocannon(options: Options): Promise<Result>;
}
