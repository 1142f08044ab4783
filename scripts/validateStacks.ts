/**
 * Offline check of every `Pulumi.<stack>.yaml` next to `Pulumi.yaml`, with the program's own validation: no
 * credentials, no Pulumi CLI, no network. Prints each problem with its file and key; exits 1 when any file is bad.
 *
 *   npm run validate
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { ENCRYPTED_VALUE, PROJECT, parseStackConfig } from "../components/config";
import { formatProblem, ValidationError } from "../components/validation";

/** The result for one stack file. */
export interface StackFileReport {
    readonly file: string;
    readonly stack: string;
    /** One line per problem, `key: got ...; expected ...`; empty when the file is valid. */
    readonly problems: readonly string[];
}

/** Pulumi hands a program strings, with lists and objects as JSON: do the same with the YAML values. */
function rawValue(value: unknown): string {
    if (typeof value === "string") {
        return value;
    }
    if (typeof value === "object" && value !== null && "secure" in value) {
        // Encrypted: present, never decrypted or shown here.
        return ENCRYPTED_VALUE;
    }
    return typeof value === "number" || typeof value === "boolean" ? String(value) : JSON.stringify(value);
}

/** Validates one stack file's text. */
export function validateStackFile(file: string, text: string): StackFileReport {
    const stack = path
        .basename(file)
        .replace(/^Pulumi\./, "")
        .replace(/\.ya?ml$/, "");
    let document: unknown;
    try {
        document = parse(text);
    } catch (error) {
        return { file, stack, problems: [`not valid YAML: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`] };
    }
    const config = (document as { config?: unknown } | null)?.config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        return { file, stack, problems: ["config: expected a map of keys to values"] };
    }
    const raw: Record<string, string> = {};
    for (const [fullKey, value] of Object.entries(config)) {
        if (fullKey.startsWith(`${PROJECT}:`)) {
            raw[fullKey.slice(PROJECT.length + 1)] = rawValue(value);
        }
    }
    try {
        parseStackConfig(raw, stack, (value) => pulumi.secret(value));
        return { file, stack, problems: [] };
    } catch (error) {
        if (error instanceof ValidationError) {
            return { file, stack, problems: error.problems.map((problem) => formatProblem(problem).replace(/^ {2}- /, "")) };
        }
        throw error;
    }
}

/** Validates every stack file in the project directory. */
export function validateStackFiles(projectDir: string): StackFileReport[] {
    return fs
        .readdirSync(projectDir)
        .filter((name) => /^Pulumi\.[^.]+\.ya?ml$/.test(name))
        .sort()
        .map((name) => validateStackFile(name, fs.readFileSync(path.join(projectDir, name), "utf8")));
}

function main(): void {
    const projectDir = path.resolve(__dirname, "..", "..");
    const reports = validateStackFiles(projectDir);
    if (reports.length === 0) {
        console.error(`no Pulumi.<stack>.yaml files in ${projectDir}`);
        process.exitCode = 1;
        return;
    }
    for (const report of reports) {
        if (report.problems.length === 0) {
            console.log(`${report.file}: ok`);
        }
        for (const problem of report.problems) {
            console.log(`${report.file}: ${problem}`);
        }
    }
    const bad = reports.filter((report) => report.problems.length > 0).length;
    console.log(`${reports.length - bad} valid, ${bad} invalid`);
    process.exitCode = bad > 0 ? 1 : 0;
}

if (require.main === module) {
    main();
}
