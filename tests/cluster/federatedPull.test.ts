/**
 * The federated delivery end to end, with nothing played by the test: the whole program (`credentialDelivery:
 * federatedPullSecret`) deployed under the engine against the Azure twin, the real External Secrets Operator (v0.20.4,
 * tests/cluster/eso.ts) signing in to tenant B with the minter's token and writing the Secret, then an image pulled
 * with skopeo through ACR's token service and a real registry (tests/twin/registry.ts), its only credentials the
 * Secret's `.dockerconfigjson` exactly as the rig's API server holds it.
 *
 * Also: ESO renews the Secret at the refresh interval (an extra ExternalSecret at 10s, built by the product's own spec
 * builders: the product refuses intervals under 5m), and an application without a pull role in tenant B leaves the
 * ExternalSecret not ready with ACR's 401 (the wrong subject and the missing service principal are in
 * tests/cluster/esoGenerator.test.ts).
 */
import * as assert from "node:assert/strict";
import { DEFAULT_PULL_SECRET_NAME } from "../../components/pullSecretTarget/settings";
import {
    acrAccessTokenSpec,
    DEFAULT_MINTER_SERVICE_ACCOUNT,
    EXTERNAL_SECRET_API,
    externalSecretSpec,
    federationSubject,
    GENERATOR_API,
    generatorName,
    minterAnnotations,
} from "../../components/deliveries/federatedPullSecret/externalSecrets";
import { requireRegistryTools, startTwinAcr, type PullResult, type TwinAcr } from "../twin/registry";
import type { TwinRegistry } from "../twin/store";
import {
    type Eso,
    expectEsoFailure,
    expectEsoSecret,
    type HeldSecret,
    installEsoCrds,
    publishServiceAccountIssuer,
    readyCondition,
    startEso,
} from "./eso";
import { ProgramProject } from "./program";
import { newStack } from "./programSteps";
import { type Rig, startRig, waitFor } from "./rig";
import {
    footprint,
    programStackConfig,
    seedFederatedApplication,
    seedManagedIdentityCluster,
    startTwinWorld,
    TENANT_A,
    TENANT_B,
    type TwinWorld,
} from "./twinWorld";

const NAMESPACE = "fedpull-apps";
const RENEWING = "acr-renewing-pull";
const NO_ROLE_NAMESPACE = "fedpull-no-role";

/** The `.dockerconfigjson` of a Secret as the API server holds it, and its entries. */
function dockerConfigOf(secret: HeldSecret): { text: string; auths: Record<string, { username: string; password: string }> } {
    assert.equal(secret.type, "kubernetes.io/dockerconfigjson");
    const text = Buffer.from(secret.data[".dockerconfigjson"], "base64").toString("utf8");
    return { text, auths: (JSON.parse(text) as { auths: Record<string, { username: string; password: string }> }).auths };
}

describe("federatedPullSecret end to end: the program under the engine, the real ESO, ACR's token service, skopeo", function () {
    this.timeout(1_200_000);
    let rig: Rig;
    let world: TwinWorld;
    let acr: TwinAcr;
    let eso: Eso;
    let project: ProgramProject;
    let rbac: TwinRegistry;
    let abac: TwinRegistry;
    let initialTwin: unknown;
    let initialAccounts: unknown;
    const stack = "fedpull";
    const clusterName = "aks-fedpull";

    const exchanges = (registry: TwinRegistry, status?: number) =>
        world.face.requests.filter(
            (r) => r.host === registry.loginServer && r.path === "/oauth2/exchange" && (status === undefined || r.status === status),
        );
    const secretOf = async (namespace: string, name: string): Promise<HeldSecret> => {
        const found = await rig.admin.get(`/api/v1/namespaces/${namespace}/secrets/${name}`);
        assert.equal(found.status, 200, `GET Secret ${namespace}/${name} answered ${found.status}`);
        return found.body as HeldSecret;
    };
    const assertPulled = (result: PullResult, registry: TwinRegistry, repository: string): void => {
        assert.equal(result.exitCode, 0, `pulling ${registry.loginServer}/${repository} failed:\n${result.stderr}`);
        assert.equal(result.label, acr.labelOf(registry.loginServer, repository), "the pull must bring back the image pushed there");
    };
    /** The namespace's service accounts, as far as a delivery may touch them. */
    const accounts = async (): Promise<unknown> => {
        const list = await rig.admin.get(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts`);
        assert.equal(list.status, 200);
        const items = (list.body as { items: { metadata: Record<string, unknown>; imagePullSecrets?: unknown }[] }).items;
        return items
            .map((sa) => ({
                name: sa.metadata.name,
                labels: sa.metadata.labels ?? {},
                annotations: sa.metadata.annotations ?? {},
                imagePullSecrets: sa.imagePullSecrets ?? [],
            }))
            .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    };

    before(async function () {
        this.timeout(0);
        requireRegistryTools(this);
        rig = await startRig();
        world = await startTwinWorld({ kubernetesCa: rig.ca });
        [rbac, abac] = world.registries;
        await publishServiceAccountIssuer(rig);
        await installEsoCrds(rig);
        acr = await startTwinAcr({ face: world.face, store: world.store, dir: `${world.dir}/acr` });
        for (const registry of [rbac, abac]) await acr.push(registry.loginServer, "team-a/app");
        eso = await startEso(rig, world.face.env());
        seedManagedIdentityCluster(world, clusterName, rig.kubeconfig(), rig.server);
        await rig.admin.create("/api/v1/namespaces", { metadata: { name: NAMESPACE } });
        await waitFor(`the default service account of ${NAMESPACE}`, 30_000, async () =>
            (await rig.admin.get(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts/default`)).status === 200 ? true : undefined,
        );
        initialTwin = footprint(world.store.read());
        initialAccounts = await accounts();
        project = ProgramProject.create(rig.binaries, { twinEnv: world.env() });
        await newStack(project, world, stack, {
            ...programStackConfig(world, clusterName),
            credentialDelivery: "federatedPullSecret",
            pullSecretNamespaces: [NAMESPACE],
        });
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") {
            console.log(`--- external-secrets (last 20 KB)\n${eso?.logs().slice(-20_000) ?? ""}`);
            console.log(`--- the face's requests (last 100)\n${JSON.stringify(world?.face.requests.slice(-100) ?? [], null, 1)}`);
        }
    });

    after(async function () {
        this.timeout(120_000);
        project?.dispose();
        await eso?.stop();
        await acr?.stop();
        await world?.stop();
        await rig?.stop();
    });

    it("up waits for ESO's Ready; the Secret ESO wrote pulls from both registries", async () => {
        await project.up(stack);
        // up waited for condition=Ready: the Secret is there already, no waiting here.
        assert.equal((await readyCondition(rig, NAMESPACE, DEFAULT_PULL_SECRET_NAME))?.status, "True");
        const { text, auths } = dockerConfigOf(await secretOf(NAMESPACE, DEFAULT_PULL_SECRET_NAME));
        assert.deepEqual(Object.keys(auths).sort(), [rbac.loginServer, abac.loginServer].sort());
        assert.ok(exchanges(rbac, 200).length >= 1 && exchanges(abac, 200).length >= 1, "ESO exchanged at both registries");
        const authFile = acr.writeAuthFile(text);
        for (const registry of [rbac, abac])
            assertPulled(await acr.pull(`${registry.loginServer}/team-a/app:v1`, authFile), registry, "team-a/app");
    });

    it("a preview right after, with ESO having rewritten the ExternalSecret, changes nothing", async () => {
        const held = (
            await rig.admin.get(`/apis/${EXTERNAL_SECRET_API}/namespaces/${NAMESPACE}/externalsecrets/${DEFAULT_PULL_SECRET_NAME}`)
        ).body as { spec: { refreshInterval: string } };
        assert.equal(held.spec.refreshInterval, "1h0m0s");
        await project.preview(stack, "--expect-no-changes");
    });

    it("ESO renews at the refresh interval: a 10s ExternalSecret gets a new password from a new exchange, and still pulls", async () => {
        const spec = externalSecretSpec(
            RENEWING,
            [rbac, abac].map((registry) => ({ loginServer: registry.loginServer, generator: generatorName(registry.name) })),
            "5m",
        );
        await rig.admin.create(`/apis/${EXTERNAL_SECRET_API}/namespaces/${NAMESPACE}/externalsecrets?fieldValidation=Strict`, {
            apiVersion: EXTERNAL_SECRET_API,
            kind: "ExternalSecret",
            metadata: { name: RENEWING },
            spec: { ...spec, refreshInterval: "10s" },
        });
        try {
            const first = dockerConfigOf(await expectEsoSecret(rig, NAMESPACE, RENEWING));
            const exchangesBefore = exchanges(rbac, 200).length;
            const renewed = await waitFor("ESO to renew the 10s Secret", 120_000, async () => {
                const current = dockerConfigOf(await secretOf(NAMESPACE, RENEWING));
                return current.auths[rbac.loginServer].password !== first.auths[rbac.loginServer].password ? current : undefined;
            });
            assert.ok(exchanges(rbac, 200).length > exchangesBefore, "no second exchange in the face's request log");
            assert.notEqual(renewed.auths[abac.loginServer].password, first.auths[abac.loginServer].password);
            const authFile = acr.writeAuthFile(renewed.text);
            for (const registry of [rbac, abac]) {
                assertPulled(await acr.pull(`${registry.loginServer}/team-a/app:v1`, authFile), registry, "team-a/app");
            }
        } finally {
            await rig.admin.delete(`/apis/${EXTERNAL_SECRET_API}/namespaces/${NAMESPACE}/externalsecrets/${RENEWING}`);
            await waitFor(`ExternalSecret ${RENEWING} to be gone`, 60_000, async () =>
                (await rig.admin.get(`/apis/${EXTERNAL_SECRET_API}/namespaces/${NAMESPACE}/externalsecrets/${RENEWING}`)).status === 404
                    ? true
                    : undefined,
            );
        }
    });

    it("destroy leaves the twin as before and the namespace's service accounts as before", async () => {
        await project.destroy(stack);
        assert.deepEqual(footprint(world.store.read()), initialTwin);
        assert.deepEqual(await accounts(), initialAccounts);
        const left = await rig.admin.get(`/apis/${EXTERNAL_SECRET_API}/namespaces/${NAMESPACE}/externalsecrets`);
        assert.deepEqual((left.body as { items: unknown[] }).items, []);
    });

    it("no pull role in tenant B: the exchange answers 401, the ExternalSecret is not ready with ACR's status code", async () => {
        // An application set up right in every other way: multitenant, a service principal in both tenants, a
        // federated credential for this namespace's minter; but no role assignment on the registry.
        const clientId = seedFederatedApplication(world.store, {
            displayName: "fedpull no role",
            issuer: rig.server,
            subject: federationSubject(NO_ROLE_NAMESPACE, DEFAULT_MINTER_SERVICE_ACCOUNT),
            principalTenants: [TENANT_A, TENANT_B],
        });
        await rig.admin.create("/api/v1/namespaces", { metadata: { name: NO_ROLE_NAMESPACE } });
        await rig.admin.create(`/api/v1/namespaces/${NO_ROLE_NAMESPACE}/serviceaccounts`, {
            metadata: { name: DEFAULT_MINTER_SERVICE_ACCOUNT, annotations: minterAnnotations(clientId, TENANT_B) },
        });
        await rig.admin.create(`/apis/${GENERATOR_API}/namespaces/${NO_ROLE_NAMESPACE}/acraccesstokens?fieldValidation=Strict`, {
            apiVersion: GENERATOR_API,
            kind: "ACRAccessToken",
            metadata: { name: generatorName(rbac.name) },
            spec: acrAccessTokenSpec(rbac.loginServer, TENANT_B, "public", DEFAULT_MINTER_SERVICE_ACCOUNT),
        });
        await rig.admin.create(`/apis/${EXTERNAL_SECRET_API}/namespaces/${NO_ROLE_NAMESPACE}/externalsecrets?fieldValidation=Strict`, {
            apiVersion: EXTERNAL_SECRET_API,
            kind: "ExternalSecret",
            metadata: { name: DEFAULT_PULL_SECRET_NAME },
            spec: externalSecretSpec(
                DEFAULT_PULL_SECRET_NAME,
                [{ loginServer: rbac.loginServer, generator: generatorName(rbac.name) }],
                "1h",
            ),
        });
        const failed = await expectEsoFailure(
            rig,
            NO_ROLE_NAMESPACE,
            DEFAULT_PULL_SECRET_NAME,
            /generatorRef.*generate refresh token, unexpected status code 401/,
        );
        assert.equal(failed.condition.reason, "SecretSyncedError");
        assert.equal(failed.condition.message, "could not get secret data from provider");
        const refused = exchanges(rbac, 401);
        assert.ok(refused.length >= 1, "the face recorded no 401 at the exchange");
        assert.match(refused[0].decision ?? "", new RegExp(`exchange: ${clientId} has no role ${rbac.name} honours`));
        const secret = await rig.admin.get(`/api/v1/namespaces/${NO_ROLE_NAMESPACE}/secrets/${DEFAULT_PULL_SECRET_NAME}`);
        assert.equal(secret.status, 404, "ESO wrote a Secret although the exchange failed");
        console.log(`    Warning event: ${failed.warning}\n    Ready: ${JSON.stringify(failed.condition)}`);
    });
});
