/**
 * ACR's token service (tests/twin/acr.ts) in front of a real registry (Debian's docker-registry, distribution 2.8, with
 * token authentication: tests/twin/registry.ts), pulled from by a real client (skopeo) through the twin's HTTPS face
 * with `HTTPS_PROXY` and `SSL_CERT_FILE`, its only credentials a `.dockerconfigjson` as the product builds it. The
 * store is seeded directly: applications, passwords, service principals and role assignments as the product's stacks
 * leave them, the conditions written by the product's own `repositoryCondition`. Assertions are on what skopeo got
 * (the image's label), on who refused (the token service or the registry), and on the face's request log.
 */
import * as assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { dockerConfigJson } from "../components/deliveries/imagePullSecret/dockerConfig";
import { repositoryCondition } from "../components/registryAccess";
import {
    ACR_NULL_GUID_USER,
    ACR_PULL_ROLE,
    createAcrSigningKey,
    evaluateCondition,
    parseCondition,
    PULL_DATA_ACTIONS,
    REPOSITORY_READER_ROLE,
} from "./twin/acr";
import { decodeJwt } from "./twin/entra";
import { requestThroughFace, startTwinFace, type FaceAnswer, type TwinFace } from "./twin/https";
import { requireRegistryTools, startTwinAcr, type PullResult, type TwinAcr } from "./twin/registry";
import { newGuid, seedRegistry, TwinStore, type TwinRegistry } from "./twin/store";

const TENANT_A = "a0a0a0a0-0000-4000-8000-00000000000a";
const TENANT_B = "b0b0b0b0-0000-4000-8000-00000000000b";
const SUB_B = "b1b1b1b1-0000-4000-8000-0000000000b1";
const DAY = 86_400_000;
// What ESO's generator asks Entra for (the service-management audience of the public cloud).
const ARM_SCOPE = "https://management.core.windows.net//.default";

interface App {
    readonly clientId: string;
    readonly secret: string;
    readonly keyId: string;
    /** The service principal's object id in tenant B, if it has one. */
    readonly principalB?: string;
}

function addApp(store: TwinStore, options: { readonly passwordEnds?: number; readonly principalInB?: boolean } = {}): App {
    return store.mutate((state) => {
        const now = Date.now();
        const objectId = newGuid();
        const clientId = newGuid();
        state.applications[objectId] = {
            objectId,
            clientId,
            homeTenantId: TENANT_A,
            displayName: `app-${clientId.slice(0, 8)}`,
            signInAudience: "AzureADMultipleOrgs",
            owners: [],
            redirectUris: [],
            tags: [],
            createdAt: new Date(now).toISOString(),
        };
        const keyId = newGuid();
        const secret = `Q8~${randomUUID()}`;
        state.passwords[keyId] = {
            keyId,
            applicationObjectId: objectId,
            displayName: "pull",
            startDate: new Date(now - DAY).toISOString(),
            endDate: new Date(options.passwordEnds ?? now + 30 * DAY).toISOString(),
            value: secret,
            createdAt: new Date(now - DAY).toISOString(),
        };
        const created = new Date(0).toISOString();
        const inA = { objectId: newGuid(), clientId, tenantId: TENANT_A, createdAt: created };
        state.servicePrincipals[inA.objectId] = inA;
        let principalB: string | undefined;
        if (options.principalInB ?? true) {
            const inB = { objectId: newGuid(), clientId, tenantId: TENANT_B, createdAt: created };
            state.servicePrincipals[inB.objectId] = inB;
            principalB = inB.objectId;
        }
        return { clientId, secret, keyId, principalB };
    });
}

/** A role assignment as the azure-native plugin writes it: at the registry's scope, in tenant B. */
function assign(store: TwinStore, app: App, registry: TwinRegistry, role: string, condition?: string): void {
    store.mutate((state) => {
        const name = newGuid();
        const id = `${registry.id}/providers/Microsoft.Authorization/roleAssignments/${name}`;
        state.roleAssignments[id.toLowerCase()] = {
            id,
            name,
            tenantId: TENANT_B,
            scope: registry.id,
            roleDefinitionId: `/subscriptions/${SUB_B}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
            principalId: app.principalB!,
            principalType: "ServicePrincipal",
            ...(condition === undefined ? {} : { condition, conditionVersion: "2.0" }),
            createdAt: new Date().toISOString(),
        };
    });
}

function setMode(store: TwinStore, registry: TwinRegistry, mode: TwinRegistry["roleAssignmentMode"]): void {
    store.mutate((state, log) => {
        state.registries[registry.id.toLowerCase()].roleAssignmentMode = mode;
        log("test", "switch role-assignment mode", registry.id, { mode });
    });
}

function form(values: Record<string, string>): { method: string; headers: Record<string, string>; body: string } {
    return {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(values).toString(),
    };
}

function json(answer: FaceAnswer): Record<string, unknown> {
    return JSON.parse(answer.body.toString("utf8")) as Record<string, unknown>;
}

describe("ACR's token service and a real registry behind the twin's face, pulled with skopeo", function () {
    this.timeout(60_000);
    let dir: string;
    let store: TwinStore;
    let face: TwinFace;
    let acr: TwinAcr;
    let rbac: TwinRegistry;
    let abac: TwinRegistry;
    let acrPullOnly: App;
    let readerOnly: App;
    let limitedToPrefix: App;
    let limitedToName: App;
    let bothRoles: App;
    let noRole: App;
    let noPrincipalInB: App;
    let expired: App;
    let deleted: App;

    /** Pulls `<registry>/<repository>:v1` with the app's client id and secret in a `.dockerconfigjson`. */
    const pullAs = (app: Pick<App, "clientId" | "secret">, registry: TwinRegistry, repository: string): Promise<PullResult> =>
        acr.pull(
            `${registry.loginServer}/${repository}:v1`,
            acr.writeAuthFile(dockerConfigJson([registry.loginServer], app.clientId, app.secret)),
        );
    const assertPulled = (result: PullResult, registry: TwinRegistry, repository: string): void => {
        assert.equal(result.exitCode, 0, `the pull failed:\n${result.stderr}`);
        assert.equal(result.label, acr.labelOf(registry.loginServer, repository), "the pull must bring back the image pushed there");
    };
    const assertRefused = (result: PullResult, by: PullResult["refusedBy"]): void => {
        assert.notEqual(result.exitCode, 0, "the pull succeeded");
        assert.equal(result.label, undefined);
        assert.equal(result.refusedBy, by, result.stderr);
    };
    /** The last decision the token service recorded for `host`. */
    const lastTokenDecision = (registry: TwinRegistry, path = "/oauth2/token"): { status: number; decision?: string } => {
        const found = face.requests.filter((r) => r.host === registry.loginServer && r.path === path);
        assert.ok(found.length > 0, `no request to ${registry.loginServer}${path}`);
        return found[found.length - 1];
    };

    before(async function () {
        requireRegistryTools(this);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "twin-acr-"));
        store = TwinStore.create(path.join(dir, "store.json"), { [TENANT_A]: "Contoso clusters", [TENANT_B]: "Fabrikam registries" });
        rbac = seedRegistry(store, { tenantId: TENANT_B, subscriptionId: SUB_B, resourceGroupName: "rg-acr", name: "FabrikamRbac" });
        abac = seedRegistry(store, {
            tenantId: TENANT_B,
            subscriptionId: SUB_B,
            resourceGroupName: "rg-acr",
            name: "fabrikamabac",
            roleAssignmentMode: "AbacRepositoryPermissions",
        });
        face = await startTwinFace({ store, dir: path.join(dir, "face") });
        acr = await startTwinAcr({ face, store, dir: path.join(dir, "acr") });
        for (const registry of [rbac, abac]) {
            for (const repository of ["team-a/app", "team-b/app"]) await acr.push(registry.loginServer, repository);
        }

        acrPullOnly = addApp(store);
        readerOnly = addApp(store);
        limitedToPrefix = addApp(store);
        limitedToName = addApp(store);
        bothRoles = addApp(store);
        noRole = addApp(store);
        noPrincipalInB = addApp(store, { principalInB: false });
        expired = addApp(store, { passwordEnds: Date.now() - DAY });
        deleted = addApp(store);
        for (const registry of [rbac, abac]) {
            assign(store, acrPullOnly, registry, ACR_PULL_ROLE);
            assign(store, readerOnly, registry, REPOSITORY_READER_ROLE);
            assign(store, bothRoles, registry, ACR_PULL_ROLE);
            assign(store, bothRoles, registry, REPOSITORY_READER_ROLE);
            assign(store, expired, registry, ACR_PULL_ROLE);
            assign(store, deleted, registry, ACR_PULL_ROLE);
        }
        // The conditions the product writes for `registryRepositories` (components/registryAccess.ts).
        assign(store, limitedToPrefix, abac, REPOSITORY_READER_ROLE, repositoryCondition({ repositories: [], prefixes: ["team-a/"] }));
        assign(store, limitedToName, abac, REPOSITORY_READER_ROLE, repositoryCondition({ repositories: ["team-b/app"], prefixes: [] }));
    });

    after(async () => {
        await acr?.stop();
        await face?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("AcrPull pulls from a registry in RBAC mode with the .dockerconfigjson the product builds, through the challenge and the token service", async () => {
        const authFile = acr.writeAuthFile(
            dockerConfigJson([abac.loginServer, rbac.loginServer], acrPullOnly.clientId, acrPullOnly.secret),
        );
        const since = face.requests.length;
        const pulled = await acr.pull(`${rbac.loginServer}/team-a/app:v1`, authFile);
        assertPulled(pulled, rbac, "team-a/app");
        // One host for everything: the challenge, its realm and the blobs, all through the face.
        const seen = face.requests.slice(since).filter((r) => r.host === rbac.loginServer && r.method !== "CONNECT");
        assert.ok(seen.some((r) => r.path === "/v2/" && r.status === 401 && r.decision === "registry: no token"));
        const token = seen.find((r) => r.path === "/oauth2/token" && r.method === "GET");
        assert.equal(token?.status, 200);
        assert.equal(
            token?.decision,
            `token for ${acrPullOnly.clientId} (by a client secret): pull on team-a/app: AcrPull without condition`,
        );
        assert.ok(
            seen.some((r) => /^\/v2\/team-a\/app\/blobs\/sha256:/.test(r.path) && r.status === 200),
            "the blobs came through the face",
        );
    });

    it("AcrPull alone is refused by a registry in ABAC mode, at the token service", async () => {
        assertRefused(await pullAs(acrPullOnly, abac, "team-a/app"), "token service");
        const decision = lastTokenDecision(abac);
        assert.equal(decision.status, 401);
        assert.match(decision.decision ?? "", /has no role fabrikamabac honours in AbacRepositoryPermissions mode \(AcrPull is ignored/);
    });

    it("Repository Reader pulls from a registry in ABAC mode, and is refused by one in RBAC mode", async () => {
        assertPulled(await pullAs(readerOnly, abac, "team-b/app"), abac, "team-b/app");
        assertRefused(await pullAs(readerOnly, rbac, "team-b/app"), "token service");
        assert.match(lastTokenDecision(rbac).decision ?? "", /in LegacyRegistryPermissions mode \(Repository Reader is ignored/);
    });

    it("the product's repository condition lets a prefix or a name pull and refuses the other repository at the registry", async () => {
        assertPulled(await pullAs(limitedToPrefix, abac, "team-a/app"), abac, "team-a/app");
        assertRefused(await pullAs(limitedToPrefix, abac, "team-b/app"), "registry");
        // The token service issued a token without team-b/app; the registry refused it for lack of that scope.
        assert.match(lastTokenDecision(abac).decision ?? "", /no pull on team-b\/app: Repository Reader's condition is false for it/);
        const manifests = face.requests.filter((r) => r.host === abac.loginServer && r.path.startsWith("/v2/team-b/app/"));
        const refused = manifests[manifests.length - 1];
        assert.equal(refused.status, 401);
        assert.equal(refused.decision, "registry: insufficient_scope for repository:team-b/app:pull");
        assert.equal(refused.error, "UNAUTHORIZED");

        assertPulled(await pullAs(limitedToName, abac, "team-b/app"), abac, "team-b/app");
        assertRefused(await pullAs(limitedToName, abac, "team-a/app"), "registry");
    });

    it("evaluates the condition grammar as ACR does: both data actions, names compared ignoring case, prefixes at their slash", () => {
        const condition = parseCondition(repositoryCondition({ repositories: ["tools/cli"], prefixes: ["team-a/"] }));
        const may = (repository: string): boolean =>
            PULL_DATA_ACTIONS.every((action) => evaluateCondition(condition, { action, repository }));
        assert.equal(may("team-a/app"), true);
        assert.equal(may("Team-A/App"), true);
        assert.equal(may("tools/CLI"), true);
        assert.equal(may("tools/cli2"), false);
        assert.equal(may("team-ab/app"), false);
        assert.equal(may("team-b/app"), false);
        // Other actions are not restricted by the condition, as the ACR docs' form says.
        assert.equal(
            evaluateCondition(condition, { action: "Microsoft.ContainerRegistry/registries/repositories/content/write", repository: "x" }),
            true,
        );
        assert.throws(() => parseCondition("@Resource[Microsoft.Storage/x:name] StringLike 'a*'"), /not imitated/);
    });

    it("the null-GUID user with a refresh token from /oauth2/exchange (what ESO sends) pulls; the exchange refuses what ACR refuses", async () => {
        const entra = async (app: App, tenant: string): Promise<string> => {
            const answer = await requestThroughFace(
                face,
                `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`,
                form({ grant_type: "client_credentials", client_id: app.clientId, client_secret: app.secret, scope: ARM_SCOPE }),
            );
            assert.equal(answer.status, 200, answer.body.toString());
            return json(answer).access_token as string;
        };
        const exchange = (registry: TwinRegistry, accessToken: string, tenant = TENANT_B): Promise<FaceAnswer> =>
            requestThroughFace(
                face,
                `https://${registry.loginServer}/oauth2/exchange`,
                form({ grant_type: "access_token", service: registry.loginServer, tenant, access_token: accessToken }),
            );

        const exchanged = await exchange(abac, await entra(limitedToPrefix, TENANT_B));
        assert.equal(exchanged.status, 200, exchanged.body.toString());
        const body = json(exchanged);
        // ESO decodes the answer into a map[string]string: nothing but strings.
        assert.deepEqual(Object.keys(body), ["refresh_token"]);
        const refreshToken = body.refresh_token as string;
        const refresh = decodeJwt(refreshToken)!;
        assert.equal(refresh.payload.iss, "Azure Container Registry");
        assert.equal(refresh.payload.aud, abac.loginServer);
        assert.equal(refresh.payload.grant_type, "refresh_token");
        assert.equal(refresh.payload.tenant, TENANT_B);

        // The null GUID and the refresh token as basic credentials: what ESO's Secret holds.
        const authFile = acr.writeAuthFile(dockerConfigJson([abac.loginServer], ACR_NULL_GUID_USER, refreshToken));
        assertPulled(await acr.pull(`${abac.loginServer}/team-a/app:v1`, authFile), abac, "team-a/app");
        assertRefused(await acr.pull(`${abac.loginServer}/team-b/app:v1`, authFile), "registry");
        assert.match(lastTokenDecision(abac).decision ?? "", new RegExp(`token for ${limitedToPrefix.clientId} \\(by a refresh token\\)`));

        // POST /oauth2/token, the refresh-token grant: an access token distribution accepts, with only what may be pulled.
        const granted = await requestThroughFace(
            face,
            `https://${abac.loginServer}/oauth2/token`,
            form({
                grant_type: "refresh_token",
                service: abac.loginServer,
                scope: "repository:team-a/app:pull repository:team-b/app:pull",
                refresh_token: refreshToken,
            }),
        );
        assert.equal(granted.status, 200);
        assert.deepEqual(Object.keys(json(granted)), ["access_token"]);
        const access = decodeJwt(json(granted).access_token as string)!;
        assert.equal(access.header.alg, "ES256");
        assert.equal((access.header.x5c as string[]).length, 2, "the signer and the root the registry trusts");
        assert.equal(access.payload.iss, "Azure Container Registry");
        assert.equal(access.payload.aud, abac.loginServer);
        assert.equal(access.payload.sub, limitedToPrefix.clientId);
        assert.deepEqual(access.payload.access, [{ type: "repository", name: "team-a/app", actions: ["pull"] }]);
        assert.equal((access.payload.exp as number) - (access.payload.iat as number), 75 * 60);

        // The refusals, each a 401 in the registry error shape, each with its reason in the face's log.
        const refused = async (what: string, answer: Promise<FaceAnswer>, decision: RegExp): Promise<void> => {
            const got = await answer;
            assert.equal(got.status, 401, `${what}: ${got.body.toString()}`);
            assert.equal((json(got).errors as { code: string }[])[0].code, "UNAUTHORIZED", what);
            assert.match(lastTokenDecision(abac, "/oauth2/exchange").decision ?? "", decision, what);
        };
        const tokenOfA = await entra(limitedToPrefix, TENANT_A);
        await refused("an Entra token of tenant A", exchange(abac, tokenOfA, TENANT_A), /the registry is in tenant b0b0/);
        await refused(
            "a tenant the token is not of",
            exchange(abac, await entra(limitedToPrefix, TENANT_B), TENANT_A),
            /the form names a0a0/,
        );
        await refused("no role the registry honours", exchange(abac, await entra(noRole, TENANT_B)), /has no role fabrikamabac honours/);
        await refused("AcrPull in ABAC mode", exchange(abac, await entra(acrPullOnly, TENANT_B)), /AcrPull is ignored/);
        await refused("a token Entra did not sign", exchange(abac, refreshToken), /not one Entra \(the twin\) signed/);
        const wrongMethod = await requestThroughFace(face, `https://${abac.loginServer}/oauth2/exchange`);
        assert.equal(wrongMethod.status, 404, "the exchange is POST only (Azure/acr#166)");
        // A refresh token is good for the registry it was issued for only.
        const elsewhere = acr.writeAuthFile(dockerConfigJson([rbac.loginServer], ACR_NULL_GUID_USER, refreshToken));
        assertRefused(await acr.pull(`${rbac.loginServer}/team-a/app:v1`, elsewhere), "token service");
    });

    it("a deleted or expired password, an unknown client id and a missing service principal in tenant B are refused at the token service", async () => {
        assertPulled(await pullAs(deleted, rbac, "team-a/app"), rbac, "team-a/app");
        store.mutate((state, log) => {
            delete state.passwords[deleted.keyId];
            log("test", "delete password", deleted.keyId);
        });
        assertRefused(await pullAs(deleted, rbac, "team-a/app"), "token service");
        assert.match(lastTokenDecision(rbac).decision ?? "", /no live password of the application has this text/);

        const stale = await pullAs(expired, rbac, "team-a/app");
        assertRefused(stale, "token service");
        assert.match(stale.stderr, /Invalid clientid or client secret/);
        assert.match(lastTokenDecision(rbac).decision ?? "", /the password has expired/);

        assertRefused(await pullAs({ clientId: newGuid(), secret: "nothing" }, rbac, "team-a/app"), "token service");
        assert.match(lastTokenDecision(rbac).decision ?? "", /no application has client id/);

        assertRefused(await pullAs(noPrincipalInB, rbac, "team-a/app"), "token service");
        assert.match(lastTokenDecision(rbac).decision ?? "", /has no service principal in the registry's tenant/);
    });

    it("both default roles keep pulling across a mode switch in either direction; AcrPull alone stops", async () => {
        try {
            for (const [rbacMode, abacMode] of [
                ["LegacyRegistryPermissions", "AbacRepositoryPermissions"],
                ["AbacRepositoryPermissions", "LegacyRegistryPermissions"],
            ] as const) {
                setMode(store, rbac, rbacMode);
                setMode(store, abac, abacMode);
                for (const registry of [rbac, abac]) assertPulled(await pullAs(bothRoles, registry, "team-b/app"), registry, "team-b/app");
            }
            // Now rbac is in ABAC mode: the switch is real, AcrPull alone no longer pulls there.
            assertRefused(await pullAs(acrPullOnly, rbac, "team-a/app"), "token service");
        } finally {
            setMode(store, rbac, "LegacyRegistryPermissions");
            setMode(store, abac, "AbacRepositoryPermissions");
        }
    });

    it("the registry takes only tokens signed by ACR's chain, for its own service", async () => {
        const backend = acr.backends.get(rbac.loginServer)!;
        const other = createAcrSigningKey(path.join(dir, "other-key"));
        const now = Math.floor(Date.now() / 1000);
        const claims = {
            iss: "Azure Container Registry",
            aud: rbac.loginServer,
            sub: "forger",
            iat: now,
            nbf: now,
            exp: now + 600,
            jti: randomUUID(),
            access: [{ type: "repository", name: "team-a/app", actions: ["pull"] }],
        };
        const get = (token: string): Promise<number> =>
            new Promise((resolve, reject) => {
                const headers = { authorization: `Bearer ${token}`, accept: "application/vnd.oci.image.manifest.v1+json" };
                http.get(`${backend.url}/v2/team-a/app/manifests/v1`, { headers }, (response) => {
                    response.resume();
                    resolve(response.statusCode ?? 0);
                }).on("error", reject);
            });
        assert.equal(await get(acr.signingKey.sign(claims)), 200, "a token of ACR's chain passes");
        assert.equal(await get(other.sign(claims)), 401, "a chain the registry does not trust");
        assert.equal(await get(acr.signingKey.sign({ ...claims, aud: abac.loginServer })), 401, "another registry's token");
        assert.equal(await get(acr.signingKey.sign({ ...claims, iss: "someone" })), 401, "another issuer");
        assert.equal(await get(acr.signingKey.sign({ ...claims, exp: now - 120, nbf: now - 600 })), 401, "an expired token");
    });

    it("records a decision for every token request, and no secret or token", () => {
        const tokenRequests = face.requests.filter(
            (r) => (r.path.startsWith("/oauth2/") && r.method === "POST") || r.path === "/oauth2/token",
        );
        assert.ok(tokenRequests.length > 10);
        for (const request of tokenRequests)
            assert.ok(request.decision, `${request.method} ${request.host}${request.path} has no decision`);
        const recorded = JSON.stringify(face.requests) + JSON.stringify(store.log());
        for (const app of [acrPullOnly, readerOnly, limitedToPrefix, limitedToName, bothRoles, noRole, noPrincipalInB, expired, deleted]) {
            assert.ok(!recorded.includes(app.secret), "a secret was recorded");
        }
        assert.ok(!recorded.includes(acr.adminUser(rbac.loginServer).password), "the admin password was recorded");
        assert.ok(!/eyJ[\w-]{10,}\./.test(recorded), "a token was recorded");
    });
});
