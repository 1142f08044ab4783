import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { looksLikeProjectName } from "../components/config";
import { placeholderKeys, validate, validateStackFile, validateStackFiles } from "../scripts/validateStacks";

const ROOT = path.resolve(__dirname, "..", "..");

describe("npm run validate", () => {
    it("refuses every stack file shipped in the repository for its placeholder ids, naming the keys npm run up names", () => {
        // The shipped files are examples: their ids are placeholders that npm run up refuses to deploy. Validation
        // that passed them would promise a deployment that cannot start, so it names the same keys, in the same order.
        const reports = validateStackFiles(ROOT);
        assert.deepEqual(
            reports.map((r) => r.file),
            ["Pulumi.dev.yaml", "Pulumi.prod.yaml"],
        );
        for (const report of reports) {
            const refusal = spawnSync("bash", [path.join(ROOT, "scripts", "up.sh"), report.stack], { cwd: ROOT, encoding: "utf8" });
            assert.equal(refusal.status, 2, refusal.stderr);
            const named = [...refusal.stderr.matchAll(/^ {2}- (\S+)$/gm)].map((m) => m[1]);
            assert.ok(named.length > 0, refusal.stderr);
            assert.deepEqual(
                report.problems.map((problem) => problem.split(":")[0]),
                named,
                `${report.file}: ${report.problems.join("; ")}`,
            );
            for (const problem of report.problems) {
                assert.match(
                    problem,
                    /^\w+: got the example's placeholder id ([0-9a-f])\1{7}-\1{4}-\1{4}-\1{4}-\1{12}; expected your own value/,
                );
            }
        }
    });

    it("passes every shipped stack file once its placeholder ids are replaced by real-looking ones", () => {
        for (const file of ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]) {
            const filled = fs
                .readFileSync(path.join(ROOT, file), "utf8")
                .replace(/([0-9a-f])\1{7}-\1{4}-\1{4}-\1{4}-\1{12}/g, () => crypto.randomUUID());
            assert.deepEqual(validateStackFile(file, filled).problems, [], file);
        }
    });

    it("names placeholder ids as scripts/up.sh does: not in comments, a list item under its key, each key once", () => {
        const text = [
            "# 11111111-1111-1111-1111-111111111111 in a comment line",
            "config:",
            "  aks-acr-cross-tenant:clusterTenantId: 0123abcd-0000-4000-8000-000000000001 # 22222222-2222-2222-2222-222222222222",
            "  aks-acr-cross-tenant:applicationOwners:",
            "    - aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
            "    - bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb",
            "  aks-acr-cross-tenant:registryTenantId: FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        ].join("\n");
        assert.deepEqual(placeholderKeys(text), [{ key: "applicationOwners", id: "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" }]);
    });

    it("names a key under a misspelling of the project's namespace with the key it probably meant, hiding encrypted values", () => {
        const report = validateStackFile(
            "Pulumi.typo.yaml",
            [
                "config:",
                "  aks-acr-cross-tenant:clusterTenantId: 0123abcd-0000-4000-8000-000000000001",
                "  aks-acr-cross-tenant:clusterSubscriptionId: 0123abcd-0000-4000-8000-000000000002",
                "  aks-acr-cross-tenant:clusterResourceGroup: rg",
                "  aks-acr-cross-tenant:clusterName: aks",
                "  aks-acr-cross-tenant:registryTenantId: 0123abcd-0000-4000-8000-000000000003",
                "  aks-acr-cross-tenant:registryIds: [/subscriptions/0123abcd-0000-4000-8000-000000000004/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg01]",
                "  aks-acr-crosstenant:credentialDelivery: imagePullSecret",
                "  AKS_ACR_Cross_Tenant:kubeconfig:",
                "    secure: v1:ENCRYPTEDKUBECONFIG==",
                "  azure-native:location: westeurope",
                "  azuread:tenantId: 0123abcd-0000-4000-8000-000000000001",
                "  kubernetes:context: aks",
            ].join("\n"),
        );
        assert.deepEqual(report.problems, [
            'aks-acr-crosstenant:credentialDelivery: got "imagePullSecret" under namespace aks-acr-crosstenant, which the program ignores; expected aks-acr-cross-tenant:credentialDelivery (the project is aks-acr-cross-tenant)',
            "AKS_ACR_Cross_Tenant:kubeconfig: got a secret (value hidden) under namespace AKS_ACR_Cross_Tenant, which the program ignores; expected aks-acr-cross-tenant:kubeconfig (the project is aks-acr-cross-tenant)",
        ]);
        assert.equal(looksLikeProjectName("aks-acr-cross-tenant"), false);
        for (const namespace of ["azure-native", "azuread", "kubernetes", "pulumi", "random", "aks"]) {
            assert.equal(looksLikeProjectName(namespace), false, namespace);
        }
    });

    it("validates one file or several given on the command line, with exit codes 0, 1 and 2", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "validate-"));
        try {
            const good = fs
                .readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")
                .replace(/([0-9a-f])\1{7}-\1{4}-\1{4}-\1{4}-\1{12}/g, () => crypto.randomUUID());
            fs.mkdirSync(path.join(dir, "stacks"));
            fs.writeFileSync(path.join(dir, "stacks", "Pulumi.good.yaml"), good);
            fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), good.replace(/clusterName: aks-dev/, "clusterName: -bad-"));
            assert.deepEqual(validate(["stacks/Pulumi.good.yaml"], dir, ROOT), {
                exitCode: 0,
                stdout: ["stacks/Pulumi.good.yaml: ok", "1 valid, 0 invalid"],
                stderr: [],
            });
            const both = validate(["stacks/Pulumi.good.yaml", "Pulumi.bad.yaml"], dir, ROOT);
            assert.equal(both.exitCode, 1);
            assert.deepEqual(
                both.stdout.filter((line) => !line.startsWith("Pulumi.bad.yaml: clusterName: got")),
                ["stacks/Pulumi.good.yaml: ok", "1 valid, 1 invalid"],
            );
            assert.equal(both.stdout.length, 3, both.stdout.join("\n"));
            const missing = validate(["Pulumi.gone.yaml", "notes.yaml", "Pulumi.bad.yaml"], dir, ROOT);
            assert.deepEqual(missing, {
                exitCode: 2,
                stdout: [],
                stderr: [
                    `Pulumi.gone.yaml: no such file (paths are relative to ${dir})`,
                    "notes.yaml: expected a stack file named Pulumi.<stack>.yaml (the stack's name is part of the file's)",
                    "Nothing was validated.",
                ],
            });
            assert.equal(validate([], dir, ROOT).exitCode, 1, "no arguments: every stack file of the project, the shipped examples");
            assert.equal(validate([], path.join(dir, "stacks"), path.join(dir, "stacks")).exitCode, 0);
            assert.deepEqual(validate([], os.tmpdir(), fs.mkdtempSync(path.join(dir, "empty-"))).exitCode, 2);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
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
                    "  aks-acr-cross-tenant:clusterSubscriptionId: 0123abcd-0000-4000-8000-000000000002",
                    "  aks-acr-cross-tenant:clusterResourceGroup: rg",
                    "  aks-acr-cross-tenant:registryTenantId: 0123abcd-0000-4000-8000-000000000003",
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
            "  aks-acr-cross-tenant:clusterTenantId: 0123abcd-0000-4000-8000-000000000001",
            "  aks-acr-cross-tenant:clusterSubscriptionId: 0123abcd-0000-4000-8000-000000000002",
            "  aks-acr-cross-tenant:clusterResourceGroup: rg",
            "  aks-acr-cross-tenant:clusterName: aks",
            "  aks-acr-cross-tenant:registryTenantId: 0123abcd-0000-4000-8000-000000000003",
            "  aks-acr-cross-tenant:registryIds: [/subscriptions/0123abcd-0000-4000-8000-000000000004/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg01]",
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
