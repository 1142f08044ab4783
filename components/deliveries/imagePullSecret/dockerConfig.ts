/**
 * The `.dockerconfigjson` document of a Kubernetes image pull secret, as a pure function: the `auths` map the
 * kubelet (and every Docker-compatible client) reads. Login servers come from `registryLoginServer` (`azureIds.ts`).
 *
 * Nothing here touches Pulumi or the network; the same text is checked by a real registry client in the tests.
 */

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
