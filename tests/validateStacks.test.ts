import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateStackFile, validateStackFiles } from "../scripts/validateStacks";

const ROOT = path.resolve(__dirname, "..", "..");

describe("npm run validate", () => {
    it("passes every stack file shipped in the repository", () => {
        const reports = validateStackFiles(ROOT);
        assert.deepEqual(
            reports.map((r) => r.file),
            ["Pulumi.dev.yaml", "Pulumi.prod.yaml"],
        );
        for (const report of reports) {
            assert.deepEqual(report.problems, [], `${report.file}: ${report.problems.join("; ")}`);
        }
    });

    it("names the file and the key of every problem, and never shows an encrypted value", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
        try {
            fs.writeFileSync(
                path.join(dir, "Pulumi.staging.yaml"),
                [
                    "config:",
                    "  aks-acr-cross-tenant:clusterTenantId: not-a-guid",
                    "  aks-acr-cross-tenant:clusterSubscriptionId: 22222222-2222-2222-2222-222222222222",
                    "  aks-acr-cross-tenant:clusterResourceGroup: rg",
                    "  aks-acr-cross-tenant:registryTenantId: 33333333-3333-3333-3333-333333333333",
                    "  aks-acr-cross-tenant:registryIds: [/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg1]",
                    "  aks-acr-cross-tenant:clusterClientSecret:",
                    "    secure: v1:ENCRYPTEDBLOB==",
                    "  aks-acr-cross-tenant:secretLifetimeDays: 1000",
                    "  azure-native:location: westeurope",
                ].join("\n"),
            );
            fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), "config: [unclosed");
            const [broken, staging] = validateStackFiles(dir);
            assert.equal(broken.file, "Pulumi.broken.yaml");
            assert.match(broken.problems[0], /^not valid YAML/);
            assert.equal(staging.stack, "staging");
            const text = staging.problems.join("\n");
            assert.match(text, /^clusterTenantId: got "not-a-guid"/m);
            assert.match(text, /^clusterName: missing; .*pulumi config set aks-acr-cross-tenant:clusterName <value> --stack staging/m);
            assert.match(text, /^registryIds\[0\]: .*subscription "x" is not a GUID/m);
            assert.match(text, /^clusterClientId: missing; expected the client id that clusterClientSecret belongs to/m);
            assert.match(text, /^secretLifetimeDays: got 1000/m);
            assert.ok(!text.includes("ENCRYPTEDBLOB"));
            assert.equal(staging.problems.length, 5, text);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("knows the delivery keys: an image pull secret stack passes, a retired or mismatched key is named", () => {
        const base = [
            "config:",
            "  aks-acr-cross-tenant:clusterTenantId: 11111111-1111-1111-1111-111111111111",
            "  aks-acr-cross-tenant:clusterSubscriptionId: 22222222-2222-2222-2222-222222222222",
            "  aks-acr-cross-tenant:clusterResourceGroup: rg",
            "  aks-acr-cross-tenant:clusterName: aks",
            "  aks-acr-cross-tenant:registryTenantId: 33333333-3333-3333-3333-333333333333",
            "  aks-acr-cross-tenant:registryIds: [/subscriptions/44444444-4444-4444-4444-444444444444/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg01]",
        ];
        const pullSecret = validateStackFile(
            "Pulumi.apps.yaml",
            [
                ...base,
                "  aks-acr-cross-tenant:credentialDelivery: imagePullSecret",
                "  aks-acr-cross-tenant:pullSecretNamespaces: [apps, jobs]",
                "  aks-acr-cross-tenant:pullSecretServiceAccounts: [default, builder]",
                "  aks-acr-cross-tenant:kubeconfig:",
                "    secure: v1:ENCRYPTEDKUBECONFIG==",
            ].join("\n"),
        );
        assert.deepEqual(pullSecret.problems, []);
        const retired = validateStackFile(
            "Pulumi.old.yaml",
            [...base, "  aks-acr-cross-tenant:switchCluster: false", "  aks-acr-cross-tenant:pullSecretNamespaces: [apps]"].join("\n"),
        );
        assert.deepEqual(
            retired.problems.map((problem) => problem.split(":")[0]),
            ["switchCluster", "pullSecretNamespaces"],
        );
        assert.match(retired.problems[0], /expected credentialDelivery instead .*credentialDelivery: none for this value/);
        assert.match(retired.problems[1], /expected no pullSecretNamespaces unless credentialDelivery is imagePullSecret/);
    });

    it("rejects a config block that is not a map", () => {
        assert.deepEqual(validateStackFile("Pulumi.x.yaml", "config: [1, 2]").problems, ["config: expected a map of keys to values"]);
    });
});
