/**
 * Every credential the whole program delivers, used the way the kubelet uses it: the program deployed under the engine
 * against the Azure twin (as tests/cluster/program.test.ts does), then an image pulled with skopeo through the twin's
 * HTTPS face, its only credentials what the delivery left — the `.dockerconfigjson` of the Secret exactly as the rig's
 * API server holds it, or the cluster's service principal profile as the twin's AKS holds it — against ACR's token
 * service (tests/twin/acr.ts) and a real registry (Debian's docker-registry with token auth, tests/twin/registry.ts).
 * Refusals are asserted on who refused (the token service, or the registry for a repository outside the limits) and on
 * the decision the face recorded.
 */
import * as assert from "node:assert/strict";
import { dockerConfigJson } from "../../components/deliveries/imagePullSecret/dockerConfig";
import { requireRegistryTools, startTwinAcr, type PullResult, type TwinAcr } from "../twin/registry";
import { seedDeployer, type TwinRegistry } from "../twin/store";
import { ProgramProject } from "./program";
import { applicationOf, newStack, passwordsOf, setClock } from "./programSteps";
import { type Rig, startRig } from "./rig";
import {
    programStackConfig,
    seedManagedIdentityCluster,
    seedServicePrincipalCluster,
    startTwinWorld,
    TENANT_A,
    type TwinWorld,
} from "./twinWorld";

const DAY_MS = 86_400_000;
const REPOSITORY_READER = "b93aa761-3e63-49ed-ac28-beffa264f7ac";
const ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
// Well past the twin world's replication delay (2 s) on a loaded machine.
const REPLICATION_WAIT_MS = 30_000;

describe("pulls with what each delivery delivers, through ACR's token service and a real registry", function () {
    this.timeout(1_200_000);
    let rig: Rig;
    let world: TwinWorld;
    let acr: TwinAcr;
    /** contosoimages, in RBAC mode (LegacyRegistryPermissions). */
    let rbac: TwinRegistry;
    /** contososhared, in ABAC mode (AbacRepositoryPermissions). */
    let abac: TwinRegistry;

    const pull = (registry: TwinRegistry, repository: string, authFile: string): Promise<PullResult> =>
        acr.pull(`${registry.loginServer}/${repository}:v1`, authFile);
    const assertPulled = (result: PullResult, registry: TwinRegistry, repository: string): void => {
        assert.equal(result.exitCode, 0, `pulling ${registry.loginServer}/${repository} failed:\n${result.stderr}`);
        assert.equal(result.label, acr.labelOf(registry.loginServer, repository), "the pull must bring back the image pushed there");
    };
    const assertRefused = (result: PullResult, by: PullResult["refusedBy"]): void => {
        assert.notEqual(result.exitCode, 0, "the pull succeeded");
        assert.equal(result.refusedBy, by, result.stderr);
    };
    const lastDecision = (registry: TwinRegistry): string => {
        const found = world.face.requests.filter((r) => r.host === registry.loginServer && r.path === "/oauth2/token");
        return found[found.length - 1]?.decision ?? "";
    };
    /**
     * The first pull after an `up` that created the application: as the kubelet does (ImagePullBackOff), it tries again
     * while tenant B has not replicated the new service principal yet (the twin's `replicationDelayMs`), and only then.
     */
    const firstPull = async (registry: TwinRegistry, repository: string, authFile: string): Promise<PullResult> => {
        const deadline = Date.now() + REPLICATION_WAIT_MS;
        for (;;) {
            const result = await pull(registry, repository, authFile);
            const replicating = /has no service principal in the registry's tenant/.test(lastDecision(registry));
            if (result.exitCode === 0 || !replicating || Date.now() > deadline) return result;
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    };
    const setMode = (registry: TwinRegistry, mode: TwinRegistry["roleAssignmentMode"]): void =>
        world.store.mutate((state, log) => {
            state.registries[registry.id.toLowerCase()].roleAssignmentMode = mode;
            log("test", "switch role-assignment mode", registry.id, { mode });
        });
    /** The cluster's service principal profile as the twin's AKS holds it, as a `.dockerconfigjson` for both registries. */
    const clusterCredentials = (clusterName: string): string => {
        const cluster = Object.values(world.store.read().clusters).find((c) => c.name === clusterName)!;
        const { clientId, secret } = cluster.servicePrincipalProfile;
        assert.ok(secret, `${clusterName} has no secret in its service principal profile`);
        return acr.writeAuthFile(dockerConfigJson([rbac.loginServer, abac.loginServer], clientId, secret));
    };

    before(async function () {
        this.timeout(0);
        requireRegistryTools(this);
        rig = await startRig();
        world = await startTwinWorld();
        [rbac, abac] = world.registries;
        assert.equal(rbac.roleAssignmentMode, "LegacyRegistryPermissions");
        assert.equal(abac.roleAssignmentMode, "AbacRepositoryPermissions");
        acr = await startTwinAcr({ face: world.face, store: world.store, dir: `${world.dir}/acr` });
        for (const registry of [rbac, abac]) {
            for (const repository of ["team-a/app", "team-b/app"]) await acr.push(registry.loginServer, repository);
        }
    });
    after(async () => {
        await acr?.stop();
        await world?.stop();
        await rig?.stop();
    });

    describe("clusterServicePrincipal: the switched cluster's credentials", () => {
        const stack = "sp-pull";
        const clusterName = "aks-sp-pull";
        let project: ProgramProject;

        before(async () => {
            const original = seedDeployer(world.store, TENANT_A, "aks-sp-pull-original-principal");
            seedServicePrincipalCluster(world, clusterName, original);
            project = ProgramProject.create(rig.binaries, { twinEnv: world.env() });
            await newStack(project, world, stack, programStackConfig(world, clusterName));
        });
        after(() => project?.dispose());

        it("after up, the cluster's client id and secret pull from both registries, in either role-assignment mode", async () => {
            const before = clusterCredentials(clusterName);
            assertRefused(await pull(rbac, "team-a/app", before), "token service");
            await project.up(stack);
            const app = applicationOf(world.store.read(), `${clusterName}-acr-pull-${stack}`);
            const authFile = clusterCredentials(clusterName);
            assertPulled(await firstPull(rbac, "team-a/app", authFile), rbac, "team-a/app");
            assert.match(lastDecision(rbac), new RegExp(`token for ${app.clientId} \\(by a client secret\\): pull on team-a/app: AcrPull`));
            assertPulled(await pull(abac, "team-b/app", authFile), abac, "team-b/app");
            assert.match(lastDecision(abac), /pull on team-b\/app: Repository Reader without condition/);
        });
    });

    describe("repository limits on a registry in ABAC mode", () => {
        const stack = "limits-pull";
        const clusterName = "aks-limits-pull";
        let project: ProgramProject;

        before(async () => {
            const original = seedDeployer(world.store, TENANT_A, "aks-limits-pull-original-principal");
            seedServicePrincipalCluster(world, clusterName, original);
            project = ProgramProject.create(rig.binaries, { twinEnv: world.env() });
            await newStack(project, world, stack, {
                ...programStackConfig(world, clusterName),
                // The limited registry first: the registry tenant's provider takes the first registry's subscription,
                // and the mode of a limited registry is read through it (docs/troubleshooting.md, "Registries").
                registryIds: [abac.id, rbac.id],
                registryRepositories: [`${abac.name}/team-a/`],
            });
        });
        after(() => project?.dispose());

        it("the named prefix pulls, another repository of that registry is refused by the registry, the unlimited registry pulls both", async () => {
            await project.up(stack);
            const state = world.store.read();
            const app = applicationOf(state, `${clusterName}-acr-pull-${stack}`);
            const principal = Object.values(state.servicePrincipals).find(
                (sp) => sp.clientId === app.clientId && sp.tenantId === abac.tenantId,
            )!;
            const onAbac = Object.values(state.roleAssignments).filter((a) => a.principalId === principal.objectId && a.scope === abac.id);
            assert.deepEqual(
                onAbac.map((a) => [a.roleDefinitionId.split("/").pop(), Boolean(a.condition)]),
                [[REPOSITORY_READER, true]],
                "the limited registry gets the conditioned Repository Reader only",
            );

            const authFile = clusterCredentials(clusterName);
            assertPulled(await firstPull(abac, "team-a/app", authFile), abac, "team-a/app");
            assert.match(lastDecision(abac), /pull on team-a\/app: Repository Reader's condition holds/);
            assertRefused(await pull(abac, "team-b/app", authFile), "registry");
            assert.match(lastDecision(abac), /no pull on team-b\/app: Repository Reader's condition is false for it/);
            const refused = world.face.requests.filter((r) => r.host === abac.loginServer && r.path.startsWith("/v2/team-b/app/")).pop();
            assert.equal(refused?.status, 401);
            assert.equal(refused?.decision, "registry: insufficient_scope for repository:team-b/app:pull");
            for (const repository of ["team-a/app", "team-b/app"]) assertPulled(await pull(rbac, repository, authFile), rbac, repository);
        });
    });

    describe("imagePullSecret: the Secret as the cluster holds it", () => {
        const stack = "pullsecret-pull";
        const clusterName = "aks-pullsecret-pull";
        const namespace = "pull-apps";
        let project: ProgramProject;

        /** The `.dockerconfigjson` bytes of the Secret, as the rig's API server holds them. */
        const secretText = async (): Promise<string> => {
            const found = await rig.admin.get(`/api/v1/namespaces/${namespace}/secrets/acr-cross-tenant-pull`);
            assert.equal(found.status, 200);
            const secret = found.body as { type: string; data: Record<string, string> };
            assert.equal(secret.type, "kubernetes.io/dockerconfigjson");
            return Buffer.from(secret.data[".dockerconfigjson"], "base64").toString("utf8");
        };

        before(async () => {
            seedManagedIdentityCluster(world, clusterName, rig.kubeconfig());
            await rig.admin.create("/api/v1/namespaces", { metadata: { name: namespace } });
            const account = `/api/v1/namespaces/${namespace}/serviceaccounts/default`;
            for (let tries = 0; (await rig.admin.get(account)).status !== 200; tries++) {
                assert.ok(tries < 100, `${account} never appeared`);
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            project = ProgramProject.create(rig.binaries, { twinEnv: world.env() });
            await newStack(project, world, stack, {
                ...programStackConfig(world, clusterName),
                credentialDelivery: "imagePullSecret",
                pullSecretNamespaces: [namespace],
            });
        });
        after(() => project?.dispose());

        it("after up, the Secret's .dockerconfigjson pulls from both registries", async () => {
            await project.up(stack);
            const authFile = acr.writeAuthFile(await secretText());
            for (const registry of [rbac, abac]) assertPulled(await firstPull(registry, "team-a/app", authFile), registry, "team-a/app");
        });

        it("a registry switched between role-assignment modes keeps pulling with the default roles, in both directions", async () => {
            const authFile = acr.writeAuthFile(await secretText());
            try {
                setMode(rbac, "AbacRepositoryPermissions");
                setMode(abac, "LegacyRegistryPermissions");
                for (const registry of [rbac, abac]) {
                    assertPulled(await pull(registry, "team-b/app", authFile), registry, "team-b/app");
                    // The other role now carries the pull: the switch happened.
                    const honoured = registry === rbac ? "Repository Reader" : "AcrPull";
                    assert.match(lastDecision(registry), new RegExp(`pull on team-b/app: ${honoured} without condition`));
                }
            } finally {
                setMode(rbac, "LegacyRegistryPermissions");
                setMode(abac, "AbacRepositoryPermissions");
            }
            for (const registry of [rbac, abac]) assertPulled(await pull(registry, "team-b/app", authFile), registry, "team-b/app");
        });

        it("past the renewal day, up puts a new password in the Secret that pulls, and the old one is refused once deleted", async () => {
            const app = applicationOf(world.store.read(), `${clusterName}-acr-pull-${stack}`);
            const [old] = passwordsOf(world.store.read(), app.objectId);
            const oldText = await secretText();
            const oldAuthFile = acr.writeAuthFile(oldText);
            assertPulled(await pull(rbac, "team-a/app", oldAuthFile), rbac, "team-a/app");

            setClock(world, Date.parse(String((await project.outputs(stack)).secretRenewsAfter)) + DAY_MS);
            await project.up(stack);
            const passwords = passwordsOf(world.store.read(), app.objectId);
            assert.equal(passwords.length, 1, "the old password is deleted");
            assert.notEqual(passwords[0].keyId, old.keyId);
            const newText = await secretText();
            assert.notEqual(newText, oldText);

            const newAuthFile = acr.writeAuthFile(newText);
            for (const registry of [rbac, abac]) assertPulled(await pull(registry, "team-a/app", newAuthFile), registry, "team-a/app");
            for (const registry of [rbac, abac]) {
                assertRefused(await pull(registry, "team-a/app", oldAuthFile), "token service");
                assert.match(lastDecision(registry), new RegExp(`${app.clientId}: no live password of the application has this text`));
            }
            assert.ok(world.store.log(/password/).some((e) => /delete/.test(e.action) && e.target.includes(old.keyId)));
            // Both pull roles are still the application's, unchanged by the renewal.
            const principal = Object.values(world.store.read().servicePrincipals).find(
                (sp) => sp.clientId === app.clientId && sp.tenantId === rbac.tenantId,
            )!;
            const roles = Object.values(world.store.read().roleAssignments)
                .filter((a) => a.principalId === principal.objectId && a.scope === rbac.id)
                .map((a) => a.roleDefinitionId.split("/").pop())
                .sort();
            assert.deepEqual(roles, [ACR_PULL, REPOSITORY_READER].sort());
        });
    });
});
