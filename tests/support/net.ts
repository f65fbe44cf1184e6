/** Loopback helpers shared by the tests and benchmarks. */
import * as net from "net";

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
        s.on("error", reject);
    });
}

/** A TCP port from `from`–`to` on 127.0.0.1 that nothing listens on right now (tried from a pid-derived start). */
export async function freePortIn(from: number, to: number): Promise<number> {
    const span = to - from + 1;
    for (let i = 0; i < span; i++) {
        const port = from + ((process.pid + i * 7) % span);
        const free = await new Promise<boolean>((resolve) => {
            const s = net.createServer();
            s.once("error", () => resolve(false));
            s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
        });
        if (free) return port;
    }
    throw new Error(`no free port on 127.0.0.1 from ${from} to ${to}`);
}
