/**
 * The whole program, end to end, under the real engine: `index.ts` through the language host's ts-node, stack files
 * written the way docs/configuration.md says, `npm run up` for the first deployment as the README says, and every
 * Azure call served by the twin (tests/twin/): its provider plugins for azuread, azure-native and random, its HTTPS
 * face for the cluster binding's Entra sign-in and ARM reset. Each delivery's life: first `up`, a preview and a
 * refresh that change nothing, renewal past the renewal day, an emergency rotation, a missed renewal, the pull-request
 * preview with the policy pack, and `destroy` leaving the twin and the cluster as they were.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { type Rig, startRig } from "./rig";
import { ProgramProject } from "./program";
import { engineSteps, stepIndex } from "./engineEvents";
import { installStandInCrds, playEso } from "./esoStandIn";
import { applicationOf, newStack, passwordsOf, setClock } from "./programSteps";
import {
    footprint,
    programStackConfig,
    seedManagedIdentityCluster,
    seedServicePrincipalCluster,
    startTwinWorld,
    TENANT_A,
    TENANT_B,
    type TwinWorld,
} from "./twinWorld";
import { seedDeployer, type TwinState } from "../twin/store";

const DAY_MS = 86_400_000;
const PASSWORD_TYPE = "azuread:index/applicationPassword:ApplicationPassword";
const SECRET_TYPE = "kubernetes:core/v1:Secret";

/** The sequence number of the first log entry whose action and target match. */
function logSeq(world: TwinWorld, action: RegExp, target: (value: string) => boolean): number {
    const entry = world.store.log(action).find((e) => target(e.target));
    assert.ok(entry, `no twin log entry ${action} matching the target:\n${JSON.stringify(world.store.log(), null, 1)}`);
    return entry.seq;
}

/** Asserts what every delivery's grant must be in the twin after `up`. */
function assertGrant(state: TwinState, world: TwinWorld, appName: string): TwinState["applications"][string] {
    const app = applicationOf(state, appName);
    assert.equal(app.homeTenantId, TENANT_A);
    assert.equal(app.signInAudience, "AzureADMultipleOrgs");
    const principals = Object.values(state.servicePrincipals).filter((sp) => sp.clientId === app.clientId);
    assert.deepEqual(principals.map((sp) => sp.tenantId).sort(), [TENANT_A, TENANT_B].sort(), "a service principal in each tenant");
    const registryPrincipal = principals.find((sp) => sp.tenantId === TENANT_B)!;
    const assignments = Object.values(state.roleAssignments).filter((a) => a.principalId === registryPrincipal.objectId);
    // Both pull roles on each registry, at the registry's scope, in tenant B, as a service principal.
    assert.deepEqual(
        assignments.map((a) => `${a.scope}|${a.roleDefinitionId.split("/").pop()}`).sort(),
        world.registries
            .flatMap((registry) => [
                `${registry.id}|7f951dda-4ed3-4680-a7ca-43fe172d538d`,
                `${registry.id}|b93aa761-3e63-49ed-ac28-beffa264f7ac`,
            ])
            .sort(),
    );
    for (const assignment of assignments) {
        assert.equal(assignment.tenantId, TENANT_B);
        assert.equal(assignment.principalType, "ServicePrincipal");
    }
    return app;
}

describe("the whole program under the engine, against the Azure twin", function () {
    this.timeout(1_200_000);
    let rig: Rig;
    let world: TwinWorld;

    before(async function () {
        this.timeout(0);
        rig = await startRig();
        world = await startTwinWorld();
    });
    after(async () => {
        await world?.stop();
        await rig?.stop();
    });

    describe("clusterServicePrincipal: the cluster switched to the application's credentials", () => {
        const stack = "sp";
        const clusterName = "aks-sp";
        const appName = `${clusterName}-acr-pull-${stack}`;
        let project: ProgramProject;
        let original: { clientId: string; secret: string };
        let initial: unknown;

        before(async () => {
            original = seedDeployer(world.store, TENANT_A, "aks-sp-original-principal");
            seedServicePrincipalCluster(world, clusterName, original);
            initial = footprint(world.store.read());
            project = ProgramProject.create(rig.binaries, { twinEnv: world.env() });
            await newStack(project, world, stack, programStackConfig(world, clusterName));
        });
        after(() => project?.dispose());

        it("npm run up deploys the grant and switches the cluster, after the password and every pull role exist", async () => {
            const up = await project.npmUp(stack, "--yes", "--non-interactive");
            assert.equal(up.exitCode, 0, up.output);
            assert.match(up.stderr, /backend: file:\/\//);
            const state = world.store.read();
            const app = assertGrant(state, world, appName);
            const [password] = passwordsOf(state, app.objectId);
            assert.ok(password, "a password");
            const cluster = Object.values(state.clusters).find((c) => c.name === clusterName)!;
            assert.equal(cluster.servicePrincipalProfile.clientId, app.clientId, "the cluster signs in as the application");
            assert.equal(cluster.servicePrincipalProfile.secret, password.value, "with the password's text");
            // Order: the password and the tenant-B roles before the switch.
            const reset = logSeq(world, /reset/i, (target) => target.toLowerCase() === cluster.id.toLowerCase());
            assert.ok(logSeq(world, /create.*password/i, (target) => target.includes(password.keyId)) < reset);
            assert.ok(logSeq(world, /create.*role assignment/i, () => true) < reset);
            const outputs = await project.outputs(stack);
            assert.equal(outputs.applicationClientId, app.clientId);
            assert.equal(outputs.previousClusterClientId, original.clientId);
            // No secret in the state or the output: the password, the deployers' secrets.
            const exported = JSON.stringify(await project.state(stack));
            for (const secret of [password.value, world.deployerA.secret, world.deployerB.secret, original.secret]) {
                assert.ok(!exported.includes(secret), "a secret is in plain text in the state");
                assert.ok(!up.output.includes(secret), "a secret was printed");
            }
        });

        it("a preview and a refresh right after change nothing", async () => {
            await project.preview(stack, "--expect-no-changes");
            await project.refresh(stack, "--expect-no-changes");
            await project.preview(stack, "--expect-no-changes");
        });

        it("past the renewal day, up mints a new password, switches the cluster to it, and only then deletes the old one", async () => {
            const app = applicationOf(world.store.read(), appName);
            const [old] = passwordsOf(world.store.read(), app.objectId);
            const renewsAfter = Date.parse(String((await project.outputs(stack)).secretRenewsAfter));
            setClock(world, renewsAfter + DAY_MS);
            const preview = await project.preview(stack);
            assert.match(preview.output, /due for renewal/);
            const events = path.join(project.home, "renewal.events.jsonl");
            await project.up(stack, "--event-log", events);
            const state = world.store.read();
            const passwords = passwordsOf(state, app.objectId);
            assert.equal(passwords.length, 1, "the old password is gone");
            assert.notEqual(passwords[0].keyId, old.keyId);
            const cluster = Object.values(state.clusters).find((c) => c.name === clusterName)!;
            assert.equal(cluster.servicePrincipalProfile.secret, passwords[0].value);
            const created = logSeq(world, /create.*password/i, (target) => target.includes(passwords[0].keyId));
            const resets = world.store.log(/reset/i).filter((e) => e.seq > created);
            const deleted = logSeq(world, /delete.*password/i, (target) => target.includes(old.keyId));
            assert.ok(resets.length > 0 && resets[0].seq < deleted, "the cluster took the new password before the old one was deleted");
            const steps = engineSteps(events);
            assert.ok(stepIndex(steps, /create-replacement/, "-secret") >= 0, "the password is replaced create-before-delete");
            await project.preview(stack, "--expect-no-changes");
        });

        it("an emergency rotation (up --replace on the password, as docs/secret-lifecycle.md says) switches the cluster before the old one goes", async () => {
            const app = applicationOf(world.store.read(), appName);
            const [old] = passwordsOf(world.store.read(), app.objectId);
            // The page's two commands: list the URNs, then npm run up with --replace on the password's.
            const urns = await project.expectSuccess(["stack", "--show-urns", "--stack", stack]);
            const urn = urns.stdout.match(
                /urn:pulumi:\S+[:$]azuread:index\/applicationPassword:ApplicationPassword::cross-tenant-acr-pull-secret(?!\S)/,
            )?.[0];
            assert.ok(urn, urns.stdout);
            assert.equal(urn, await project.urn(stack, PASSWORD_TYPE, "cross-tenant-acr-pull-secret"));
            const rotated = await project.npmUp(stack, "--replace", urn, "--yes", "--non-interactive");
            assert.equal(rotated.exitCode, 0, rotated.output);
            const passwords = passwordsOf(world.store.read(), app.objectId);
            assert.equal(passwords.length, 1);
            assert.notEqual(passwords[0].keyId, old.keyId);
            const deleted = logSeq(world, /delete.*password/i, (target) => target.includes(old.keyId));
            const created = logSeq(world, /create.*password/i, (target) => target.includes(passwords[0].keyId));
            assert.ok(world.store.log(/reset/i).some((e) => e.seq > created && e.seq < deleted));
        });

        it("after a missed renewal the preview says the secret expired, and up renews it", async () => {
            const expiresAt = Date.parse(String((await project.outputs(stack)).secretExpiresAt));
            setClock(world, expiresAt + DAY_MS);
            const preview = await project.preview(stack);
            assert.match(preview.output, /client secret expired on/);
            await project.up(stack);
            const outputs = await project.outputs(stack);
            assert.ok(Date.parse(String(outputs.secretExpiresAt)) > expiresAt + DAY_MS, "a fresh secret");
            await project.preview(stack, "--expect-no-changes");
        });

        it("the pull-request preview with the policy pack passes", async () => {
            const preview = await project.preview(stack, "--policy-pack", project.policyPackExecutable());
            assert.match(preview.output, /Policy Packs run:[\s\S]*aks-acr-cross-tenant/, preview.output);
            assert.doesNotMatch(preview.output, /mandatory/i);
        });

        it("destroy refuses by default, naming the choice; with clusterDeletePolicy restore it switches back and leaves the twin as before", async () => {
            const refused = await project.expectFailure(["destroy", "--stack", stack, "--non-interactive", "--yes"]);
            assert.match(refused.output, /Refusing to delete the credential binding of AKS cluster rg-aks\/aks-sp/);
            assert.match(refused.output, new RegExp(`before this stack it used ${original.clientId}`));
            const app = applicationOf(world.store.read(), appName);
            const cluster = Object.values(world.store.read().clusters).find((c) => c.name === clusterName)!;
            assert.equal(cluster.servicePrincipalProfile.clientId, app.clientId, "the refused destroy left the cluster switched");
            assert.equal(passwordsOf(world.store.read(), app.objectId).length, 1, "the refused destroy left the password");

            // docs/cluster-service-principal.md's commands, one by one.
            await project.expectSuccess(["config", "set", "clusterDeletePolicy", "restore", "--stack", stack]);
            await project.expectSuccess(["config", "set", "restoreClientId", original.clientId, "--stack", stack]);
            await project.expectSuccess(["config", "set", "--secret", "restoreClientSecret", "--stack", stack], original.secret);
            const recorded = await project.npmUp(stack, "--yes", "--non-interactive");
            assert.equal(recorded.exitCode, 0, recorded.output);
            await project.expectSuccess(["destroy", "--stack", stack, "--yes", "--non-interactive"]);
            assert.deepEqual(footprint(world.store.read()), initial);
            const restored = Object.values(world.store.read().clusters).find((c) => c.name === clusterName)!;
            assert.equal(restored.servicePrincipalProfile.secret, original.secret);
        });
    });

    describe("imagePullSecret: a Secret per namespace, our entry in shared service-account lists", () => {
        const stack = "pullsecret";
        const clusterName = "aks-mi";
        const appName = `${clusterName}-acr-pull-${stack}`;
        const namespaces = ["apps", "jobs"];
        let project: ProgramProject;
        let initial: unknown;

        before(async () => {
            seedManagedIdentityCluster(world, clusterName, rig.kubeconfig());
            for (const namespace of namespaces) {
                await rig.admin.create("/api/v1/namespaces", { metadata: { name: namespace } });
                const account = `/api/v1/namespaces/${namespace}/serviceaccounts/default`;
                for (let tries = 0; (await rig.admin.get(account)).status !== 200; tries++) {
                    assert.ok(tries < 100, `${account} never appeared`);
                    await new Promise((resolve) => setTimeout(resolve, 100));
                }
            }
            // Someone else's entry, which must survive every run.
            await rig.admin.request(
                "PATCH",
                "/api/v1/namespaces/apps/serviceaccounts/default",
                [{ op: "add", path: "/imagePullSecrets", value: [{ name: "team-registry" }] }],
                "application/json-patch+json",
            );
            initial = footprint(world.store.read());
            project = ProgramProject.create(rig.binaries, { twinEnv: world.env() });
            await newStack(project, world, stack, {
                ...programStackConfig(world, clusterName),
                credentialDelivery: "imagePullSecret",
                pullSecretNamespaces: namespaces,
            });
        });
        after(() => project?.dispose());

        const secretOf = async (namespace: string): Promise<{ auths: Record<string, { username: string; password: string }> }> => {
            const found = await rig.admin.get(`/api/v1/namespaces/${namespace}/secrets/acr-cross-tenant-pull`);
            assert.equal(found.status, 200);
            const data = (found.body as { data: Record<string, string> }).data[".dockerconfigjson"];
            return JSON.parse(Buffer.from(data, "base64").toString("utf8")) as {
                auths: Record<string, { username: string; password: string }>;
            };
        };

        it("npm run up deploys the grant, a Secret holding the live password in each namespace, and our entry after others'", async () => {
            const up = await project.npmUp(stack, "--yes", "--non-interactive");
            assert.equal(up.exitCode, 0, up.output);
            const state = world.store.read();
            const app = assertGrant(state, world, appName);
            const [password] = passwordsOf(state, app.objectId);
            for (const namespace of namespaces) {
                const config = await secretOf(namespace);
                assert.deepEqual(Object.keys(config.auths).sort(), ["contosoimages.azurecr.io", "contososhared.azurecr.io"]);
                for (const auth of Object.values(config.auths))
                    assert.deepEqual([auth.username, auth.password], [app.clientId, password.value]);
            }
            const apps = (await rig.admin.get("/api/v1/namespaces/apps/serviceaccounts/default")).body as { imagePullSecrets: unknown };
            assert.deepEqual(apps.imagePullSecrets, [{ name: "team-registry" }, { name: "acr-cross-tenant-pull" }]);
            assert.ok(!JSON.stringify(await project.state(stack)).includes(password.value), "the password is in plain text in the state");
        });

        it("a preview and a refresh right after change nothing", async () => {
            await project.preview(stack, "--expect-no-changes");
            await project.refresh(stack, "--expect-no-changes");
        });

        it("past the renewal day, the Secrets take the new password before the old one is deleted", async () => {
            const app = applicationOf(world.store.read(), appName);
            const [old] = passwordsOf(world.store.read(), app.objectId);
            const renewsAfter = Date.parse(String((await project.outputs(stack)).secretRenewsAfter));
            setClock(world, renewsAfter + DAY_MS);
            const events = path.join(project.home, "renewal.events.jsonl");
            await project.up(stack, "--event-log", events);
            const [current] = passwordsOf(world.store.read(), app.objectId);
            assert.notEqual(current.keyId, old.keyId);
            for (const namespace of namespaces) {
                assert.equal((await secretOf(namespace)).auths["contosoimages.azurecr.io"].password, current.value);
            }
            const steps = engineSteps(events);
            const oldDeleted = stepIndex(steps, /^delete-replaced$/, "-secret");
            assert.ok(oldDeleted >= 0, JSON.stringify(steps.map((s) => `${s.op} ${s.urn}`)));
            for (const namespace of namespaces) {
                const updated = steps.findIndex((s) => s.type === SECRET_TYPE && s.op === "update" && s.urn.includes(namespace));
                assert.ok(
                    updated >= 0 && updated < oldDeleted,
                    `${namespace}'s Secret was not updated before the old password was deleted`,
                );
            }
            await project.preview(stack, "--expect-no-changes");
        });

        it("the pull-request preview with the policy pack passes", async () => {
            const preview = await project.preview(stack, "--policy-pack", project.policyPackExecutable());
            assert.match(preview.output, /Policy Packs run:[\s\S]*aks-acr-cross-tenant/, preview.output);
        });

        it("destroy removes the Secrets and our entries only, and leaves the twin as before", async () => {
            await project.destroy(stack);
            const apps = (await rig.admin.get("/api/v1/namespaces/apps/serviceaccounts/default")).body as { imagePullSecrets: unknown };
            assert.deepEqual(apps.imagePullSecrets, [{ name: "team-registry" }]);
            const jobs = (await rig.admin.get("/api/v1/namespaces/jobs/serviceaccounts/default")).body as { imagePullSecrets?: unknown };
            assert.equal(jobs.imagePullSecrets, undefined);
            for (const namespace of namespaces) {
                assert.equal((await rig.admin.get(`/api/v1/namespaces/${namespace}/secrets/acr-cross-tenant-pull`)).status, 404);
            }
            assert.deepEqual(footprint(world.store.read()), initial);
        });
    });

    describe("federatedPullSecret: no secret, a federated credential per namespace", () => {
        const stack = "federated";
        const clusterName = "aks-oidc";
        const appName = `${clusterName}-acr-pull-${stack}`;
        const namespaces = ["fed-apps"];
        let project: ProgramProject;
        let initial: unknown;

        before(async () => {
            seedManagedIdentityCluster(world, clusterName, rig.kubeconfig(), rig.server);
            for (const namespace of namespaces) await rig.admin.create("/api/v1/namespaces", { metadata: { name: namespace } });
            await installStandInCrds(rig.admin);
            initial = footprint(world.store.read());
            project = ProgramProject.create(rig.binaries, { twinEnv: world.env() });
            await newStack(project, world, stack, {
                ...programStackConfig(world, clusterName),
                credentialDelivery: "federatedPullSecret",
                pullSecretNamespaces: namespaces,
            });
        });
        after(() => project?.dispose());

        it("npm run up deploys the grant with a federated credential per namespace and no password", async () => {
            const eso = playEso(rig.admin, namespaces, "acr-cross-tenant-pull");
            let up;
            try {
                for (let tries = 0; (await rig.admin.get("/api/v1/namespaces/fed-apps/serviceaccounts/default")).status !== 200; tries++) {
                    assert.ok(tries < 100);
                    await new Promise((resolve) => setTimeout(resolve, 100));
                }
                up = await project.npmUp(stack, "--yes", "--non-interactive");
            } finally {
                await eso.stop();
            }
            assert.equal(up.exitCode, 0, up.output);
            const state = world.store.read();
            const app = assertGrant(state, world, appName);
            assert.equal(passwordsOf(state, app.objectId).length, 0, "no password");
            const credentials = Object.values(state.federatedCredentials).filter((c) => c.applicationObjectId === app.objectId);
            assert.deepEqual(
                credentials.map((c) => [c.issuer, c.subject, c.audiences]),
                [[rig.server, "system:serviceaccount:fed-apps:acr-token-minter", ["api://AzureADTokenExchange"]]],
            );
        });

        it("a preview and a refresh right after change nothing", async () => {
            await project.preview(stack, "--expect-no-changes");
            await project.refresh(stack, "--expect-no-changes");
        });

        it("destroy removes the federated credentials and the application, and leaves the twin as before", async () => {
            await project.destroy(stack);
            assert.deepEqual(footprint(world.store.read()), initial);
        });
    });

    describe("none: the grant only", () => {
        const stack = "grantonly";
        const clusterName = "aks-none";
        let project: ProgramProject;
        let initial: unknown;

        before(async () => {
            initial = footprint(world.store.read());
            project = ProgramProject.create(rig.binaries, { twinEnv: world.env() });
            await newStack(project, world, stack, { ...programStackConfig(world, clusterName), credentialDelivery: "none" });
        });
        after(() => project?.dispose());

        it("deploys, previews clean, renews create-before-delete, and destroys to nothing", async () => {
            const up = await project.npmUp(stack, "--yes", "--non-interactive");
            assert.equal(up.exitCode, 0, up.output);
            const app = assertGrant(world.store.read(), world, `${clusterName}-acr-pull-${stack}`);
            await project.preview(stack, "--expect-no-changes");
            await project.refresh(stack, "--expect-no-changes");
            const [old] = passwordsOf(world.store.read(), app.objectId);
            setClock(world, Date.parse(String((await project.outputs(stack)).secretRenewsAfter)) + DAY_MS);
            await project.up(stack);
            const [current] = passwordsOf(world.store.read(), app.objectId);
            assert.notEqual(current.keyId, old.keyId);
            assert.ok(
                logSeq(world, /create.*password/i, (t) => t.includes(current.keyId)) <
                    logSeq(world, /delete.*password/i, (t) => t.includes(old.keyId)),
                "create-before-delete",
            );
            await project.destroy(stack);
            assert.deepEqual(footprint(world.store.read()), initial);
        });
    });

    describe("an upgrade: a stack deployed by the commit before the whole-program tests, then up with this program", () => {
        // main's head before the Azure twin existed: the last version whose stacks users may hold.
        const FROM = "44a5c13";
        const stack = "upgrade";
        const clusterName = "aks-upgrade";
        let previous: ProgramProject;
        let current: ProgramProject;
        let original: { clientId: string; secret: string };

        before(async () => {
            original = seedDeployer(world.store, TENANT_A, "aks-upgrade-original-principal");
            seedServicePrincipalCluster(world, clusterName, original);
            previous = ProgramProject.create(rig.binaries, { twinEnv: world.env(), commit: FROM });
            await newStack(
                previous,
                world,
                stack,
                { ...programStackConfig(world, clusterName), clusterDeletePolicy: "restore", restoreClientId: original.clientId },
                { restoreClientSecret: original.secret },
            );
            current = ProgramProject.create(rig.binaries, { twinEnv: world.env(), home: previous.home });
        });
        after(() => {
            current?.dispose();
            previous?.dispose();
        });

        it("replaces no password and no role assignment, and previews clean afterwards", async () => {
            await previous.up(stack);
            const app = applicationOf(world.store.read(), `${clusterName}-acr-pull-${stack}`);
            const passwordsBefore = passwordsOf(world.store.read(), app.objectId).map((p) => p.keyId);
            const assignmentsBefore = Object.keys(world.store.read().roleAssignments).sort();
            previous.copyStackFile(stack, current);
            const events = path.join(current.home, "upgrade.events.jsonl");
            await current.up(stack, "--event-log", events);
            assert.deepEqual(
                passwordsOf(world.store.read(), app.objectId).map((p) => p.keyId),
                passwordsBefore,
            );
            assert.deepEqual(Object.keys(world.store.read().roleAssignments).sort(), assignmentsBefore);
            const replaced = engineSteps(events).filter((s) => /replace|delete/.test(s.op));
            assert.deepEqual(
                replaced.map((s) => `${s.op} ${s.urn}`),
                [],
            );
            await current.preview(stack, "--expect-no-changes");
            await current.destroy(stack);
        });
    });
});
