/**
 * The `.dockerconfigjson` document of a Kubernetes image pull secret, as pure functions: which login server each
 * registry answers on, and the `auths` map the kubelet (and every Docker-compatible client) reads.
 *
 * Nothing here touches Pulumi or the network; the same text is checked by a real registry client in the tests.
 */
import type { AzureEnvironment } from "../azureIds";

/** Name of the pull secret when none is given. */
export const DEFAULT_PULL_SECRET_NAME = "acr-cross-tenant-pull";
/** Service accounts that reference the pull secret when none are given: the one pods use unless they name another. */
export const DEFAULT_PULL_SECRET_SERVICE_ACCOUNTS: readonly string[] = ["default"];

/** Where the pull secret is referenced: the listed service accounts (default), or every new pod in the namespaces. */
export const PULL_SECRET_TARGETS = ["serviceAccounts", "pods"] as const;
export type PullSecretTarget = (typeof PULL_SECRET_TARGETS)[number];
export const PULL_SECRET_TARGET_FORM =
    "one of serviceAccounts (add the secret to the listed service accounts' imagePullSecrets), pods (add it to every new pod in the namespaces; Kubernetes 1.36 or later)";

/** DNS suffix of Azure Container Registry login servers, per Azure cloud. */
export const REGISTRY_LOGIN_SUFFIXES: Readonly<Record<AzureEnvironment, string>> = {
    public: "azurecr.io",
    usgovernment: "azurecr.us",
    china: "azurecr.cn",
};

/**
 * The login server of a registry: `<name, lower case>.azurecr.io` in the public cloud (`.azurecr.us` in Azure
 * Government, `.azurecr.cn` in Azure China). Registry names are case-insensitive; login servers are lower case.
 */
export function registryLoginServer(registryName: string, environment: AzureEnvironment): string {
    return `${registryName.toLowerCase()}.${REGISTRY_LOGIN_SUFFIXES[environment]}`;
}

/** One set of registry credentials in a Docker config file. */
export interface DockerAuth {
    readonly username: string;
    readonly password: string;
    /** base64 of `username:password`, what clients that predate the split fields read. */
    readonly auth: string;
}

/** The document stored under `.dockerconfigjson` in a `kubernetes.io/dockerconfigjson` Secret. */
export interface DockerConfig {
    readonly auths: Readonly<Record<string, DockerAuth>>;
}

/**
 * Builds the `.dockerconfigjson` text: one `auths` entry per distinct login server, each with the same username
 * and password. The servers are de-duplicated case-insensitively and sorted, and the keys keep a fixed order, so
 * the same inputs give byte-for-byte the same text on every run (a changed text would update every Secret).
 *
 * The password is returned inside the text: callers keep the result a Pulumi secret and never log it. Errors name
 * what is wrong without echoing the password.
 */
export function dockerConfigJson(loginServers: readonly string[], username: string, password: string): string {
    if (loginServers.length === 0) {
        throw new Error("dockerConfigJson needs at least one registry login server");
    }
    for (const server of loginServers) {
        // A login server is a host name (optionally with a port), never a URL or a path.
        if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/i.test(server)) {
            throw new Error(`dockerConfigJson: ${JSON.stringify(server)} is not a registry host name`);
        }
    }
    if (username === "" || username.includes(":")) {
        // Basic auth splits `auth` at the first colon: a colon in the username would make the two readings differ.
        throw new Error(`dockerConfigJson: the username must be non-empty and contain no colon (got ${JSON.stringify(username)})`);
    }
    if (password === "") {
        throw new Error("dockerConfigJson: the password is empty");
    }
    const auth = Buffer.from(`${username}:${password}`, "utf8").toString("base64");
    const servers = [...new Set(loginServers.map((server) => server.toLowerCase()))].sort();
    const auths: Record<string, DockerAuth> = {};
    for (const server of servers) {
        auths[server] = { username, password, auth };
    }
    const config: DockerConfig = { auths };
    return JSON.stringify(config);
}
