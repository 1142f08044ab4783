/**
 * Which API resources a cluster serves, read from its discovery with `@kubernetes/client-node` (loaded only when
 * called): what the cluster-side deliveries check before anything is created, in previews too. Discovery is open to
 * every authenticated user, so it needs no RBAC of its own. The kubeconfig goes only to the client; messages carry
 * the API server's status, never the kubeconfig.
 */

/** One resource a delivery writes, in the group and version it writes it. */
export interface WantedApiResource {
    /** `group/version`, or `v1` for the core group. */
    readonly groupVersion: string;
    /** The plural resource name, as discovery lists it. */
    readonly resource: string;
}

/** What the discovery read found. */
export interface DiscoveryResult {
    /** The wanted resources the cluster does not serve. */
    readonly missing: readonly WantedApiResource[];
    /** The server's version (`v1.35.2`), when it could be read. */
    readonly serverVersion?: string;
    /** Set when discovery itself failed (not a 404 of a group version, which just means it is not served). */
    readonly failure?: string;
}

export async function discoverApiResources(kubeconfig: string, wanted: readonly WantedApiResource[]): Promise<DiscoveryResult> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const config = new k8s.KubeConfig();
    config.loadFromString(kubeconfig);
    const api = config.makeApiClient(k8s.CustomObjectsApi);
    const missing: WantedApiResource[] = [];
    const served = new Map<string, Set<string>>();
    for (const item of wanted) {
        let names = served.get(item.groupVersion);
        if (names === undefined) {
            const [group, version] = item.groupVersion.includes("/") ? item.groupVersion.split("/") : ["", item.groupVersion];
            try {
                // Discovery of one group version: GET /apis/<group>/<version> (the core group lives at /api/v1).
                const list =
                    group === ""
                        ? await config.makeApiClient(k8s.CoreV1Api).getAPIResources()
                        : await api.getAPIResources({ group, version });
                names = new Set(list.resources.map((resource) => resource.name));
            } catch (error) {
                const code = (error as { code?: unknown } | null)?.code;
                if (code !== 404) {
                    const reason = typeof code === "number" ? `HTTP ${code}` : error instanceof Error ? error.message : String(error);
                    return { missing: [], failure: `Cannot read the cluster's API discovery for ${item.groupVersion} (${reason}).` };
                }
                names = new Set();
            }
            served.set(item.groupVersion, names);
        }
        if (!names.has(item.resource)) missing.push(item);
    }
    if (missing.length === 0) return { missing };
    let serverVersion: string | undefined;
    try {
        serverVersion = (await config.makeApiClient(k8s.VersionApi).getCode()).gitVersion;
    } catch {
        serverVersion = undefined;
    }
    return { missing, serverVersion };
}
