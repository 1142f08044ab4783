/**
 * Just enough of a Kubernetes API server for the deliveries' discovery reads: `GET /apis/<group>/<version>` lists
 * the resources a test says are served, `/version` answers a version, anything else is 404. The real Kubernetes
 * client talks to it over plain HTTP (which it accepts only with TLS verification off).
 */
import * as http from "node:http";

export interface FakeDiscovery {
    /** Resource names served per `group/version`; change it between tests. */
    readonly served: Map<string, string[]>;
    /** A kubeconfig for it, whose user's token is `token`. */
    kubeconfig(token?: string): string;
    close(): Promise<void>;
}

export async function startFakeDiscovery(gitVersion = "v1.35.2"): Promise<FakeDiscovery> {
    const served = new Map<string, string[]>();
    const server = http.createServer((request, response) => {
        response.setHeader("content-type", "application/json");
        const groupVersion = request.url?.startsWith("/apis/") ? request.url.slice("/apis/".length) : undefined;
        const names = groupVersion === undefined ? undefined : served.get(groupVersion);
        if (names !== undefined) {
            const resources = names.map((name) => ({ name, namespaced: true, kind: name, verbs: ["get"], singularName: "" }));
            response.end(JSON.stringify({ kind: "APIResourceList", apiVersion: "v1", groupVersion, resources }));
        } else if (request.url === "/version") {
            response.end(JSON.stringify({ major: "1", minor: gitVersion.split(".")[1], gitVersion }));
        } else {
            response.statusCode = 404;
            response.end(JSON.stringify({ kind: "Status", code: 404 }));
        }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    return {
        served,
        kubeconfig: (token = "KUBE-TOKEN-SECRET") =>
            [
                "apiVersion: v1",
                "kind: Config",
                `clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
                `users: [{name: u, user: {token: ${token}}}]`,
                "contexts: [{name: x, context: {cluster: c, user: u}}]",
                "current-context: x",
            ].join("\n"),
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}
