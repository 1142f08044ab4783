/**
 * A port on 127.0.0.1 that the kernel calls free right now, for servers that cannot listen on port 0 and report the
 * port back (the distribution registry, kine, kube-apiserver).
 */
import * as net from "node:net";

export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => {
                if (address !== null && typeof address === "object") resolve(address.port);
                else reject(new Error(`unexpected listen address ${String(address)}`));
            });
        });
    });
}
