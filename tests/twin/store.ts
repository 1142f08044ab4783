/**
 * The Azure twin's one store: two (or more) Entra tenants and the slice of Azure Resource Manager the product touches,
 * kept in one JSON file per test run, so that every face of the twin — the provider plugins the engine starts
 * (each in its own process), the HTTPS face the Azure SDK and External Secrets Operator call, and the test itself —
 * reads and writes the same world. Every change is appended to one ordered log, so a test can assert what happened
 * before what (a password created, the cluster switched to it, the old password deleted).
 *
 * What it imitates, and where that was read:
 * - Entra: an application lives in its home tenant (`/applications/<object id>`), has a client id (`appId`) and may
 *   be multitenant (`signInAudience: AzureADMultipleOrgs`); a service principal is per tenant; password credentials
 *   (`keyId`, `endDateTime`, the secret text shown once) and federated identity credentials (issuer, subject,
 *   audiences; at most 20 per application) belong to the application (Microsoft Graph v1.0 reference:
 *   application, passwordCredential, federatedIdentityCredential; the limit: Entra "workload identity federation
 *   considerations").
 * - ARM role assignments: id `<scope>/providers/Microsoft.Authorization/roleAssignments/<guid>`; the same principal,
 *   role and scope under a second name is `409 RoleAssignmentExists`; a principal that Entra has not replicated yet
 *   is `400 PrincipalNotFound` unless `principalType` is given (ARM "Assign Azure roles using the REST API",
 *   "Troubleshoot Azure RBAC").
 * - Registries: `properties.roleAssignmentMode` (`LegacyRegistryPermissions`, `AbacRepositoryPermissions`; ARM API
 *   2025-11-01).
 * - Managed clusters: `servicePrincipalProfile.clientId` (`msi` on managed-identity clusters),
 *   `oidcIssuerProfile.issuerURL`, and the user kubeconfig `listClusterUserCredential` returns.
 *
 * Not imitated: Graph's paging and `$filter`, directory roles and consent, ARM's inheritance of assignments from
 * parent scopes, deny assignments, and every resource the product does not declare or read.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** A multitenant (or single-tenant) application registration, in its home tenant. */
export interface TwinApplication {
    readonly objectId: string;
    readonly clientId: string;
    readonly homeTenantId: string;
    displayName: string;
    signInAudience: string;
    owners: string[];
    redirectUris: string[];
    notes?: string;
    tags: string[];
    readonly createdAt: string;
}

/** A password credential of an application: Entra shows its text once, at creation. */
export interface TwinPassword {
    readonly keyId: string;
    readonly applicationObjectId: string;
    readonly displayName: string;
    readonly startDate: string;
    readonly endDate: string;
    readonly value: string;
    readonly createdAt: string;
}

/** A federated identity credential of an application. */
export interface TwinFederatedCredential {
    readonly credentialId: string;
    readonly applicationObjectId: string;
    readonly displayName: string;
    description?: string;
    issuer: string;
    subject: string;
    audiences: string[];
}

/** An application's service principal in one tenant. */
export interface TwinServicePrincipal {
    readonly objectId: string;
    readonly clientId: string;
    readonly tenantId: string;
    readonly createdAt: string;
}

/** An Azure role assignment. */
export interface TwinRoleAssignment {
    readonly id: string;
    readonly name: string;
    readonly tenantId: string;
    readonly scope: string;
    readonly roleDefinitionId: string;
    readonly principalId: string;
    readonly principalType?: string;
    readonly condition?: string;
    readonly conditionVersion?: string;
    readonly description?: string;
    readonly createdAt: string;
}

/** A container registry. */
export interface TwinRegistry {
    readonly id: string;
    readonly tenantId: string;
    readonly subscriptionId: string;
    readonly name: string;
    readonly loginServer: string;
    roleAssignmentMode: "LegacyRegistryPermissions" | "AbacRepositoryPermissions";
}

/** An AKS managed cluster. */
export interface TwinCluster {
    readonly id: string;
    readonly tenantId: string;
    readonly subscriptionId: string;
    readonly resourceGroupName: string;
    readonly name: string;
    location: string;
    /** The client id the cluster signs in with, or `msi` on a managed-identity cluster. */
    servicePrincipalProfile: { clientId: string; secret?: string };
    identity?: { type: string };
    oidcIssuerProfile?: { enabled: boolean; issuerURL?: string };
    /** The user kubeconfig `listClusterUserCredential` returns (plain YAML or JSON text). */
    userKubeconfig?: string;
    /** Other properties a declared cluster carries (the owned-cluster example), kept as given. */
    properties?: Record<string, unknown>;
}

/** One entry of the ordered change log. */
export interface TwinLogEntry {
    readonly seq: number;
    readonly at: string;
    /** Which face did it: `azuread`, `azure-native`, `random`, `arm`, `entra`, `test`. */
    readonly face: string;
    readonly action: string;
    /** What it touched: an id, a client id, a cluster id. */
    readonly target: string;
    /** A few non-secret facts about the change. */
    readonly detail?: Readonly<Record<string, string | number | boolean | undefined>>;
}

export interface TwinState {
    /** Tenants the twin knows, by id; anything else is `AADSTS90002` (tenant not found). */
    tenants: Record<string, { readonly displayName: string }>;
    /**
     * How long a service principal stays unknown to ARM after its creation (Entra replication), in milliseconds.
     * Role assignments without `principalType` fail with `PrincipalNotFound` meanwhile; AKS answers
     * "Service principal clientID ... not found" to a reset.
     */
    replicationDelayMs: number;
    /**
     * How far the twin's clock (and the program's, through `tests/twin/clock.ts`) runs ahead of the machine's, in
     * milliseconds: a test moves it past a renewal day instead of waiting months.
     */
    clockOffsetMs: number;
    applications: Record<string, TwinApplication>;
    passwords: Record<string, TwinPassword>;
    federatedCredentials: Record<string, TwinFederatedCredential>;
    servicePrincipals: Record<string, TwinServicePrincipal>;
    /** By lower-case id. */
    roleAssignments: Record<string, TwinRoleAssignment>;
    /** By lower-case id. */
    registries: Record<string, TwinRegistry>;
    /** By lower-case id. */
    clusters: Record<string, TwinCluster>;
    log: TwinLogEntry[];
}

/** An error the twin answers with, shaped like Azure's: an HTTP status, a code and a message. */
export class TwinError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
    ) {
        super(`${code}: ${message}`);
        this.name = "TwinError";
    }
}

const LOCK_STALE_MS = 30_000;

function sleepSync(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The store at `file`: every read and change goes through the file, under a lock, so all processes see one world. */
export class TwinStore {
    constructor(readonly file: string) {}

    /** A new store file with the given tenants and nothing else. */
    static create(file: string, tenants: Record<string, string>, options: { readonly replicationDelayMs?: number } = {}): TwinStore {
        const state: TwinState = {
            tenants: Object.fromEntries(Object.entries(tenants).map(([id, displayName]) => [id, { displayName }])),
            replicationDelayMs: options.replicationDelayMs ?? 0,
            clockOffsetMs: 0,
            applications: {},
            passwords: {},
            federatedCredentials: {},
            servicePrincipals: {},
            roleAssignments: {},
            registries: {},
            clusters: {},
            log: [],
        };
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify(state, null, 1));
        return new TwinStore(file);
    }

    /** The store named by `AZURE_TWIN_STORE`, as the plugins and faces started for a test find it. */
    static fromEnvironment(): TwinStore {
        const file = process.env.AZURE_TWIN_STORE;
        if (!file) throw new Error("AZURE_TWIN_STORE is not set: the Azure twin's plugins run only inside the cluster tests");
        return new TwinStore(file);
    }

    /** A snapshot of the whole state. */
    read(): TwinState {
        return JSON.parse(fs.readFileSync(this.file, "utf8")) as TwinState;
    }

    /**
     * Runs `change` on the current state under an exclusive lock and writes the result back atomically; what
     * `change` returns is returned. A `TwinError` thrown by `change` leaves the store as it was.
     */
    mutate<T>(
        change: (state: TwinState, log: (face: string, action: string, target: string, detail?: TwinLogEntry["detail"]) => void) => T,
    ): T {
        const lock = `${this.file}.lock`;
        const deadline = Date.now() + 20_000;
        for (;;) {
            try {
                fs.closeSync(fs.openSync(lock, "wx"));
                break;
            } catch (error) {
                if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
                try {
                    // A process killed inside its change leaves the lock behind; nothing holds one this long.
                    if (Date.now() - fs.statSync(lock).mtimeMs > LOCK_STALE_MS) fs.rmSync(lock, { force: true });
                } catch {
                    // gone meanwhile
                }
                if (Date.now() > deadline) throw new Error(`the twin's store ${this.file} stayed locked for 20 s`, { cause: error });
                sleepSync(5);
            }
        }
        try {
            const state = this.read();
            const entries: TwinLogEntry[] = [];
            const result = change(state, (face, action, target, detail) => {
                entries.push({ seq: state.log.length + entries.length + 1, at: new Date().toISOString(), face, action, target, detail });
            });
            state.log.push(...entries);
            const tmp = `${this.file}.${process.pid}.tmp`;
            fs.writeFileSync(tmp, JSON.stringify(state, null, 1));
            fs.renameSync(tmp, this.file);
            return result;
        } finally {
            fs.rmSync(lock, { force: true });
        }
    }

    /** The log, optionally only the entries whose action matches. */
    log(action?: RegExp): TwinLogEntry[] {
        const entries = this.read().log;
        return action === undefined ? entries : entries.filter((entry) => action.test(entry.action));
    }
}

/** The twin's time: the machine's clock moved by the store's `clockOffsetMs`. */
export function twinNow(state: TwinState): Date {
    return new Date(Date.now() + (state.clockOffsetMs ?? 0));
}

/** A new GUID, the form of every object id, client id and key id Entra and ARM hand out. */
export function newGuid(): string {
    return randomUUID();
}

/** The tenant an ARM resource id belongs to, found through the registries and clusters the twin knows by subscription. */
export function knownTenant(state: TwinState, tenantId: string): void {
    if (state.tenants[tenantId] === undefined) {
        throw new TwinError(400, "AADSTS90002", `Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID.`);
    }
}

/** Whether a service principal has replicated far enough for ARM to know it (see `replicationDelayMs`). */
export function replicated(state: TwinState, principal: TwinServicePrincipal): boolean {
    // Replication runs on the machine's clock, not the twin's moved one.
    return Date.now() - Date.parse(principal.createdAt) >= state.replicationDelayMs;
}

/** The service principal of `clientId` in `tenantId`, if the application is provisioned there. */
export function servicePrincipalOf(state: TwinState, clientId: string, tenantId: string): TwinServicePrincipal | undefined {
    return Object.values(state.servicePrincipals).find((sp) => sp.clientId === clientId && sp.tenantId === tenantId);
}

/** The application whose client id is `clientId`. */
export function applicationByClientId(state: TwinState, clientId: string): TwinApplication | undefined {
    return Object.values(state.applications).find((app) => app.clientId === clientId);
}

/**
 * Seeds what exists before a stack: a registry in a tenant. `name` is the registry's name; the login server
 * follows the public cloud's `<name>.azurecr.io`.
 */
export function seedRegistry(
    store: TwinStore,
    registry: {
        readonly tenantId: string;
        readonly subscriptionId: string;
        readonly resourceGroupName: string;
        readonly name: string;
        readonly roleAssignmentMode?: TwinRegistry["roleAssignmentMode"];
    },
): TwinRegistry {
    const id = `/subscriptions/${registry.subscriptionId}/resourceGroups/${registry.resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/${registry.name}`;
    return store.mutate((state, log) => {
        const created: TwinRegistry = {
            id,
            tenantId: registry.tenantId,
            subscriptionId: registry.subscriptionId,
            name: registry.name,
            loginServer: `${registry.name.toLowerCase()}.azurecr.io`,
            roleAssignmentMode: registry.roleAssignmentMode ?? "LegacyRegistryPermissions",
        };
        state.registries[id.toLowerCase()] = created;
        log("test", "seed registry", id, { mode: created.roleAssignmentMode });
        return created;
    });
}

/** Seeds an existing AKS cluster. */
export function seedCluster(store: TwinStore, cluster: Omit<TwinCluster, "id" | "location"> & { readonly location?: string }): TwinCluster {
    const id = `/subscriptions/${cluster.subscriptionId}/resourceGroups/${cluster.resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/${cluster.name}`;
    return store.mutate((state, log) => {
        const created: TwinCluster = { ...cluster, id, location: cluster.location ?? "westeurope" };
        state.clusters[id.toLowerCase()] = created;
        log("test", "seed cluster", id, { clientId: created.servicePrincipalProfile.clientId });
        return created;
    });
}

/**
 * Seeds a deployer: an application with a password and its service principal in its home tenant, the identity a
 * stack's providers and the cluster binding sign in with (the `*ClientId` / `*ClientSecret` config keys).
 */
export function seedDeployer(
    store: TwinStore,
    tenantId: string,
    displayName: string,
): { readonly clientId: string; readonly secret: string } {
    return store.mutate((state, log) => {
        knownTenant(state, tenantId);
        const now = new Date();
        const app: TwinApplication = {
            objectId: newGuid(),
            clientId: newGuid(),
            homeTenantId: tenantId,
            displayName,
            signInAudience: "AzureADMyOrg",
            owners: [],
            redirectUris: [],
            tags: [],
            createdAt: now.toISOString(),
        };
        state.applications[app.objectId] = app;
        const secret = `deployer~${newGuid()}`;
        const keyId = newGuid();
        state.passwords[keyId] = {
            keyId,
            applicationObjectId: app.objectId,
            displayName: "deployer",
            startDate: now.toISOString(),
            endDate: new Date(now.getTime() + 3650 * 86_400_000).toISOString(),
            value: secret,
            createdAt: now.toISOString(),
        };
        // Created long enough ago to have replicated.
        const sp: TwinServicePrincipal = { objectId: newGuid(), clientId: app.clientId, tenantId, createdAt: new Date(0).toISOString() };
        state.servicePrincipals[sp.objectId] = sp;
        log("test", "seed deployer", app.clientId, { tenantId });
        return { clientId: app.clientId, secret };
    });
}
