/**
 * The library as other stacks use it: each stack under examples/ installed against the packed package (`npm pack`,
 * as a user's `npm install` gets it), run by the rig's engine through the language host's ts-node, deployed and
 * destroyed against the Azure twin. The examples sign in with ambient credentials, as the README's readers would:
 * here `AZURE_CLIENT_ID` / `AZURE_CLIENT_SECRET` / `AZURE_TENANT_ID` of tenant A's deployer, which the cluster
 * binding's `DefaultAzureCredential` takes.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Rig, startRig } from "./rig";
import { ProgramProject } from "./program";
import { installStandInCrds, playEso } from "./esoStandIn";
import {
    footprint,
    seedManagedIdentityCluster,
    seedServicePrincipalCluster,
    startTwinWorld,
    SUBSCRIPTION_A,
    SUBSCRIPTION_B1,
    TENANT_A,
    TENANT_B,
    type TwinWorld,
} from "./twinWorld";
import { seedDeployer } from "../twin/store";

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** Packs the library and lays out a node_modules holding it and its dependencies, as npm would. */
function installPackedLibrary(scratch: string): void {
    const [packed] = JSON.parse(
        execFileSync("npm", ["pack", "--json", "--pack-destination", scratch], {
            cwd: ROOT,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        }),
    ) as Array<{ filename: string }>;
    const modules = path.join(scratch, "node_modules");
    const installed = path.join(modules, "aks-acr-cross-tenant");
    fs.mkdirSync(installed, { recursive: true });
    execFileSync("tar", ["-xzf", path.join(scratch, packed.filename), "-C", installed, "--strip-components=1"]);
    // Its dependencies and the examples' own (TypeScript for ts-node), linked from the repository's install.
    for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
        if (entry === ".bin" || entry === "aks-acr-cross-tenant") continue;
        fs.symlinkSync(path.join(ROOT, "node_modules", entry), path.join(modules, entry), "dir");
    }
}

/** The config every example reads. */
function exampleConfig(world: TwinWorld, clusterName: string): Record<string, string | string[]> {
    return {
        clusterTenantId: TENANT_A,
        clusterSubscriptionId: SUBSCRIPTION_A,
        clusterResourceGroup: "rg-aks",
        clusterName,
        registryTenantId: TENANT_B,
        registrySubscriptionId: SUBSCRIPTION_B1,
        registryIds: [world.registries[0].id],
    };
}

async function waitForServiceAccount(rig: Rig, namespace: string): Promise<void> {
    for (let tries = 0; (await rig.admin.get(`/api/v1/namespaces/${namespace}/serviceaccounts/default`)).status !== 200; tries++) {
        assert.ok(tries < 200, `namespace ${namespace} never got its default service account`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

describe("the examples, each deployed and destroyed against the Azure twin under the engine", function () {
    this.timeout(1_200_000);
    let rig: Rig;
    let world: TwinWorld;
    let scratch: string;

    before(async function () {
        this.timeout(0);
        rig = await startRig();
        world = await startTwinWorld();
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-examples-"));
        installPackedLibrary(scratch);
    });
    after(async () => {
        await world?.stop();
        await rig?.stop();
        if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    });

    /** A scratch project of the example, its stack created with `config` (and `secrets` through the CLI). */
    async function exampleProject(
        example: string,
        stack: string,
        config: Record<string, unknown>,
        secrets: Record<string, string> = {},
    ): Promise<ProgramProject> {
        const project = ProgramProject.create(rig.binaries, {
            twinEnv: {
                ...world.env(),
                AZURE_TENANT_ID: TENANT_A,
                AZURE_CLIENT_ID: world.deployerA.clientId,
                AZURE_CLIENT_SECRET: world.deployerA.secret,
            },
            example: { dir: path.join(ROOT, "examples", example), under: scratch },
        });
        await project.expectSuccess(["stack", "init", stack]);
        for (const [key, value] of Object.entries(config)) {
            await project.expectSuccess([
                "config",
                "set",
                "--stack",
                stack,
                ...(Array.isArray(value) ? ["--path", `${key}[0]`] : [key]),
                String(Array.isArray(value) ? value[0] : value),
            ]);
        }
        for (const [key, value] of Object.entries(secrets))
            await project.expectSuccess(["config", "set", "--secret", "--stack", stack, key], value);
        return project;
    }

    it("existing-cluster: switches a service-principal cluster, and destroy restores its previous principal", async () => {
        const previous = seedDeployer(world.store, TENANT_A, "existing-cluster-previous");
        seedServicePrincipalCluster(world, "aks-existing", previous);
        const before = footprint(world.store.read());
        const project = await exampleProject(
            "existing-cluster",
            "existing",
            { ...exampleConfig(world, "aks-existing"), previousClientId: previous.clientId },
            { previousClientSecret: previous.secret },
        );
        try {
            await project.up("existing");
            const { applicationClientId } = await project.outputs("existing");
            const cluster = Object.values(world.store.read().clusters).find((c) => c.name === "aks-existing")!;
            assert.equal(cluster.servicePrincipalProfile.clientId, applicationClientId);
            await project.preview("existing", "--expect-no-changes");
            await project.destroy("existing");
            assert.deepEqual(footprint(world.store.read()), before);
        } finally {
            project.dispose();
        }
    });

    it("owned-cluster: a cluster created before Entra replicates fails naming the principal, the next up creates it on the application's credentials without a reset", async () => {
        const before = footprint(world.store.read());
        const project = await exampleProject("owned-cluster", "owned", exampleConfig(world, "aks-owned"));
        const setReplicationDelay = (ms: number): void =>
            world.store.mutate((state, log) => {
                state.replicationDelayMs = ms;
                log("test", "replication delay", String(ms));
            });
        try {
            const resetsBefore = world.store.log(/reset/i).length;
            // AKS checks the principal when the cluster is created; azure-native's PUT does not wait for Entra as the
            // binding's reset does, so a principal made moments before is refused (docs/troubleshooting.md).
            setReplicationDelay(600_000);
            const first = await project.run(["up", "--stack", "owned", "--non-interactive", "--yes"]);
            assert.notEqual(first.exitCode, 0, first.output);
            assert.match(first.output, /ServicePrincipalNotFound[\s\S]*not found in Active Directory tenant/);
            // Entra has replicated: the same command again, as the troubleshooting page says.
            setReplicationDelay(0);
            await project.up("owned");
            const { applicationClientId } = await project.outputs("owned");
            const cluster = Object.values(world.store.read().clusters).find((c) => c.name === "aks-owned")!;
            assert.equal(cluster.servicePrincipalProfile.clientId, applicationClientId);
            assert.equal(world.store.log(/reset/i).length, resetsBefore, "a brand-new cluster was reset");
            await project.preview("owned", "--expect-no-changes");
            await project.destroy("owned");
            assert.deepEqual(footprint(world.store.read()), before);
        } finally {
            setReplicationDelay(2_000);
            project.dispose();
        }
    });

    it("managed-identity-cluster: a pull secret in an existing namespace and in one the stack creates", async () => {
        seedManagedIdentityCluster(world, "aks-mi", rig.kubeconfig());
        await rig.admin.create("/api/v1/namespaces", { metadata: { name: "apps" } });
        await waitForServiceAccount(rig, "apps");
        const before = footprint(world.store.read());
        const project = await exampleProject("managed-identity-cluster", "mi", exampleConfig(world, "aks-mi"));
        try {
            await project.up("mi");
            assert.deepEqual((await project.outputs("mi")).pullSecrets, ["apps/acr-cross-tenant-pull", "jobs/acr-cross-tenant-pull"]);
            for (const namespace of ["apps", "jobs"]) {
                const account = (await rig.admin.get(`/api/v1/namespaces/${namespace}/serviceaccounts/default`)).body as {
                    imagePullSecrets?: unknown;
                };
                assert.deepEqual(account.imagePullSecrets, [{ name: "acr-cross-tenant-pull" }]);
            }
            await project.destroy("mi");
            assert.deepEqual(footprint(world.store.read()), before);
            assert.equal((await rig.admin.get("/api/v1/namespaces/apps/secrets/acr-cross-tenant-pull")).status, 404);
        } finally {
            project.dispose();
        }
    });

    it("federated-cluster: federated credentials per namespace and ESO's objects, no password", async () => {
        seedManagedIdentityCluster(world, "aks-federated", rig.kubeconfig(), rig.server);
        // "jobs" was deleted with the managed-identity example's stack: wait until it is gone, then make it anew.
        for (let tries = 0; (await rig.admin.get("/api/v1/namespaces/jobs")).status !== 404; tries++) {
            assert.ok(tries < 600, "namespace jobs never finished deleting");
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await rig.admin.create("/api/v1/namespaces", { metadata: { name: "jobs" } });
        await waitForServiceAccount(rig, "jobs");
        await installStandInCrds(rig.admin);
        const before = footprint(world.store.read());
        const project = await exampleProject("federated-cluster", "federated", exampleConfig(world, "aks-federated"));
        try {
            const eso = playEso(rig.admin, ["apps", "jobs"], "acr-cross-tenant-pull");
            try {
                await project.up("federated");
            } finally {
                await eso.stop();
            }
            const state = world.store.read();
            const { applicationClientId } = await project.outputs("federated");
            const app = Object.values(state.applications).find((a) => a.clientId === applicationClientId)!;
            assert.equal(Object.values(state.passwords).filter((p) => p.applicationObjectId === app.objectId).length, 0);
            assert.deepEqual(
                Object.values(state.federatedCredentials)
                    .filter((c) => c.applicationObjectId === app.objectId)
                    .map((c) => c.subject)
                    .sort(),
                ["system:serviceaccount:apps:acr-token-minter", "system:serviceaccount:jobs:acr-token-minter"],
            );
            await project.destroy("federated");
            assert.deepEqual(footprint(world.store.read()), before);
        } finally {
            project.dispose();
        }
    });
});
