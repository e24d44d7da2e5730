import { Agent, request } from "node:http";

/** One `/readyz` probe: the status and body it got, or why the connection failed. */
export type ReadinessSample =
  | { at: number; via: "kept-alive" | "new-connection"; status: number; body: unknown }
  | { at: number; via: "kept-alive" | "new-connection"; refused: string };

export interface ReadinessWatch {
  samples: ReadinessSample[];
  stop(): void;
}

/**
 * Polls `/readyz` every `everyMs`, two ways at once: over one kept-alive connection (a load balancer's pooled
 * health check, opened before anything happens) and over a new connection each time (a fresh client). A server
 * that stops listening still answers on the first, and refuses the second.
 */
export async function watchReadiness(baseUrl: string, everyMs = 40): Promise<ReadinessWatch> {
  const pooled = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: ReadinessSample[] = [];
  const probe = (via: "kept-alive" | "new-connection"): Promise<void> =>
    new Promise((resolve) => {
      const at = Date.now();
      const outgoing = request(`${baseUrl}/readyz`, { agent: via === "kept-alive" ? pooled : false, timeout: 2000 }, (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () => {
          samples.push({ at, via, status: response.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : null });
          resolve();
        });
      });
      outgoing.on("timeout", () => outgoing.destroy(new Error("timeout")));
      outgoing.on("error", (error: NodeJS.ErrnoException) => {
        samples.push({ at, via, refused: error.code ?? error.message });
        resolve();
      });
      outgoing.end();
    });
  await probe("kept-alive"); // opens the pooled connection before the watch starts
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      await Promise.all([probe("kept-alive"), probe("new-connection")]);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  };
  void loop();
  return {
    samples,
    stop: () => {
      stopped = true;
      pooled.destroy();
    },
  };
}
