/**
 * ServiceAccountPullSecret under the real engine on a real API server: every service account's list compared whole
 * before and after, with others' entries, another tool removing ours, a server-side-apply owner and a missing
 * service account; the preview tells each of these first.
 */
import * as assert from "node:assert/strict";
import { type Rig, startRig } from "./rig";
import { PulumiWorkspace } from "./pulumi";

const OURS = "acr-cross-tenant-pull";
const NAMESPACE = "team";

interface ServiceAccount {
    metadata: { resourceVersion: string };
    imagePullSecrets?: { name: string }[];
}

describe("ServiceAccountPullSecret under the Pulumi engine, on a real API server", function () {
    this.timeout(300_000);
    let rig: Rig;
    let workspace: PulumiWorkspace;

    function path(name: string): string {
        return `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${name}`;
    }

    async function live(name: string): Promise<ServiceAccount> {
        const response = await rig.admin.get(path(name));
        assert.equal(response.status, 200, `GET ${path(name)}: ${response.status}`);
        return response.body as ServiceAccount;
    }

    async function createServiceAccount(name: string, imagePullSecrets?: { name: string }[]): Promise<void> {
        await rig.admin.create(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, {
            metadata: { name },
            ...(imagePullSecrets ? { imagePullSecrets } : {}),
        });
    }

    async function upCommand(...extra: string[]): Promise<string> {
        return (await workspace.up(...extra)).output;
    }

    /** No command output and no state export holds the kubeconfig's token. */
    async function assertKubeconfigSecret(output: string): Promise<void> {
        const token = (JSON.parse(rig.kubeconfig()) as { users: { user: { token: string } }[] }).users[0].user.token;
        assert.ok(!output.includes(token), "a command printed the kubeconfig's token");
        assert.ok(!JSON.stringify(await workspace.state()).includes(token), "the state holds the kubeconfig's token in plain text");
    }

    before(async function () {
        this.timeout(0);
        rig = await startRig();
        await rig.admin.create("/api/v1/namespaces", { metadata: { name: NAMESPACE } });
        await createServiceAccount("absent-list");
        await createServiceAccount("others", [{ name: "team-registry" }]);
        await createServiceAccount("adopted", [{ name: OURS }]);
        workspace = await PulumiWorkspace.create(rig.binaries, "reference");
        await workspace.setConfig("kubeconfig", rig.kubeconfig(), { secret: true });
    });
    after(async () => {
        workspace?.dispose();
        await rig?.stop();
    });

    it("up adds ours after others' entries, adopts ours where it is listed, and destroy restores every list exactly", async () => {
        const names = ["absent-list", "others", "adopted"];
        await workspace.setConfig(
            "serviceAccounts",
            names.map((name) => `${NAMESPACE}/${name}`),
        );
        const before = new Map<string, ServiceAccount["imagePullSecrets"]>();
        for (const name of names) before.set(name, (await live(name)).imagePullSecrets);

        const preview = await workspace.preview();
        // The three references, the one provider they share (it holds the kubeconfig) and the stack.
        assert.match(preview.output, /\+ 5 to create|5 to create/, preview.output);
        const output = await upCommand();
        assert.deepEqual((await live("absent-list")).imagePullSecrets, [{ name: OURS }]);
        assert.deepEqual((await live("others")).imagePullSecrets, [{ name: "team-registry" }, { name: OURS }]);
        assert.deepEqual((await live("adopted")).imagePullSecrets, [{ name: OURS }]);
        const outputs = await workspace.outputs();
        assert.deepEqual(outputs.added, {
            [`${NAMESPACE}/absent-list`]: true,
            [`${NAMESPACE}/others`]: true,
            [`${NAMESPACE}/adopted`]: false,
        });
        await assertKubeconfigSecret(output);

        // Another tool rewrites the list after us, keeping ours (a plain update: it now owns the whole list).
        const rewritten = await rig.admin.request(
            "PATCH",
            `${path("others")}?fieldManager=kubectl-edit`,
            { imagePullSecrets: [{ name: "late" }, { name: "team-registry" }, { name: OURS }] },
            "application/merge-patch+json",
        );
        assert.equal(rewritten.status, 200);
        before.set("others", [{ name: "late" }, { name: "team-registry" }]);

        await workspace.destroy();
        for (const name of names) {
            assert.deepEqual((await live(name)).imagePullSecrets, before.get(name), `${name} after destroy`);
        }
    });

    it("an entry another tool removed shows in preview --refresh, and up --refresh puts it back", async () => {
        await workspace.setConfig("serviceAccounts", [`${NAMESPACE}/others`]);
        await upCommand();
        const list = (await live("others")).imagePullSecrets ?? [];
        const index = list.findIndex((entry) => entry.name === OURS);
        const removed = await rig.admin.jsonPatch(path("others"), [
            { op: "test", path: `/imagePullSecrets/${index}/name`, value: OURS },
            { op: "remove", path: `/imagePullSecrets/${index}` },
        ]);
        assert.equal(removed.status, 200);

        const preview = await workspace.preview("--refresh");
        assert.match(preview.output, /~ 1 to update|1 to update/, preview.output);
        await upCommand("--refresh");
        assert.deepEqual(
            ((await live("others")).imagePullSecrets ?? []).filter((entry) => entry.name === OURS),
            [{ name: OURS }],
            "up did not put the entry back",
        );
        await workspace.destroy();
        assert.ok(!((await live("others")).imagePullSecrets ?? []).some((entry) => entry.name === OURS), "destroy left ours behind");
    });

    it("a list owned by server-side apply fails the preview naming the field manager, and nothing is written", async () => {
        await createServiceAccount("gitops");
        const applied = await rig.admin.apply(
            path("gitops"),
            { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "gitops" }, imagePullSecrets: [{ name: "flux-secret" }] },
            "flux-kustomize",
        );
        assert.equal(applied.status, 200);
        const version = (await live("gitops")).metadata.resourceVersion;
        await workspace.setConfig("serviceAccounts", [`${NAMESPACE}/others`, `${NAMESPACE}/gitops`]);
        const preview = await workspace.expectFailure(["preview", "--stack", workspace.stack, "--non-interactive"]);
        assert.match(
            preview.output,
            /Service account team\/gitops: its imagePullSecrets list is owned by server-side apply \(field manager "flux-kustomize"\)/,
        );
        const up = await workspace.expectFailure(["up", "--stack", workspace.stack, "--non-interactive", "--yes"]);
        assert.match(up.output, /flux-kustomize/);
        assert.equal((await live("gitops")).metadata.resourceVersion, version, "the owned list was written");
        assert.ok(
            !((await live("others")).imagePullSecrets ?? []).some((entry) => entry.name === OURS),
            "up wrote while the preview refused",
        );
    });

    it("a missing service account fails the preview naming it", async () => {
        await workspace.setConfig("serviceAccounts", [`${NAMESPACE}/nobody-here`]);
        const preview = await workspace.expectFailure(["preview", "--stack", workspace.stack, "--non-interactive"]);
        assert.match(preview.output, /service account team\/nobody-here does not exist/, preview.output);
    });
});
