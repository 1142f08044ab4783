/**
 * Just enough of a Kubernetes API server for the deliveries' reads: `GET /apis/<group>/<version>` lists the
 * resources a test says are served, `/version` answers a version, `GET /api/v1/namespaces/<ns>` and
 * `.../serviceaccounts/<name>` answer the objects of the mocks' one store (`RecordingMocks.kubernetesObjects`,
 * keyed `namespace` and `namespace/name`, what `withKubernetes` fills), anything else is 404. The real Kubernetes
 * client talks to it over plain HTTP (which it accepts only with TLS verification off).
 *
 * It imitates the API server's answers as the delivery reads them (kubernetes/apiserver: a `Status` with `code` 404
 * for an object that does not exist; a service account without `imagePullSecrets` has no such field at all).
 */
import * as http from "node:http";

/** The objects every fake answers from: the store of the mocks installed last (`installMocks` points it there). */
export const kubernetesStore: { objects: ReadonlyMap<string, Record<string, unknown>> } = { objects: new Map() };

export interface FakeDiscovery {
    /** Resource names served per `group/version`; change it between tests. */
    readonly served: Map<string, string[]>;
    /** Every request, as `METHOD path`, in order: what the client asked, for tests of what is read. */
    readonly requests: string[];
    /** A kubeconfig for it, whose user's token is `token`. */
    kubeconfig(token?: string): string;
    close(): Promise<void>;
}

const OBJECT_PATH = /^\/api\/v1\/namespaces\/([^/?]+)(?:\/serviceaccounts\/([^/?]+))?(?:\?.*)?$/;

export async function startFakeDiscovery(gitVersion = "v1.35.2"): Promise<FakeDiscovery> {
    const served = new Map<string, string[]>();
    const requests: string[] = [];
    const server = http.createServer((request, response) => {
        requests.push(`${request.method} ${request.url}`);
        response.setHeader("content-type", "application/json");
        const groupVersion = request.url?.startsWith("/apis/") ? request.url.slice("/apis/".length) : undefined;
        const names = groupVersion === undefined ? undefined : served.get(groupVersion);
        const object = request.method === "GET" ? OBJECT_PATH.exec(request.url ?? "") : null;
        if (names !== undefined) {
            const resources = names.map((name) => ({ name, namespaced: true, kind: name, verbs: ["get"], singularName: "" }));
            response.end(JSON.stringify({ kind: "APIResourceList", apiVersion: "v1", groupVersion, resources }));
        } else if (request.url === "/version") {
            response.end(JSON.stringify({ major: "1", minor: gitVersion.split(".")[1], gitVersion }));
        } else if (object !== null && kubernetesStore.objects.has(object[2] ? `${object[1]}/${object[2]}` : object[1])) {
            const [, namespace, account] = object;
            const found = kubernetesStore.objects.get(account ? `${namespace}/${account}` : namespace)!;
            response.end(JSON.stringify({ apiVersion: "v1", kind: account ? "ServiceAccount" : "Namespace", ...found }));
        } else {
            response.statusCode = 404;
            response.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }));
        }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    // A fake shared by a whole test run must not keep mocha's process alive after the last test.
    server.unref();
    const { port } = server.address() as { port: number };
    return {
        served,
        requests,
        kubeconfig: (token = "KUBE-TOKEN-SECRET") =>
            [
                "apiVersion: v1",
                "kind: Config",
                `clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
                `users: [{name: u, user: {token: ${token}}}]`,
                "contexts: [{name: x, context: {cluster: c, user: u}}]",
                "current-context: x",
            ].join("\n"),
        close: () =>
            new Promise<void>((resolve) => {
                server.close(() => resolve());
                // The delivery's client keeps its connection alive; a closed fake must not wait for it.
                server.closeAllConnections();
            }),
    };
}
