/**
 * Offline check of stack files with the program's own validation: no credentials, no Pulumi CLI, no network.
 * Prints each problem as `<file>: <key>: got ...; expected ...`, never an encrypted value.
 *
 *   npm run validate                  every Pulumi.<stack>.yaml next to Pulumi.yaml
 *   npm run validate -- <file>...     the files named (relative to where npm was run)
 *
 * Exit codes: 0 every file is valid; 1 a file has problems; 2 nothing could be checked (a file named does not exist
 * or is not named Pulumi.<stack>.yaml, or there is no stack file at all).
 *
 * Besides the program's rules it names what the program cannot see: keys under a namespace that looks like a
 * misspelling of the project's (the program reads only `aks-acr-cross-tenant:` keys and ignores the rest), and the
 * example's placeholder ids, which `npm run up` (scripts/up.sh) refuses to deploy, named by the same rule and key.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { ENCRYPTED_VALUE, misspeltNamespaceProblems, PROJECT, parseStackConfig } from "../components/config";
import { formatProblem, show, ValidationError, type Problem } from "../components/validation";

/** The result for one stack file. */
export interface StackFileReport {
    readonly file: string;
    readonly stack: string;
    /** One line per problem, `key: got ...; expected ...`; empty when the file is valid. */
    readonly problems: readonly string[];
}

/** A stack file's name: Pulumi keeps the configuration of stack `<org>/<name>` in `Pulumi.<name>.yaml`. */
const STACK_FILE = /^Pulumi\.([^.]+)\.ya?ml$/;

/**
 * The example stack files' ids: one hex digit repeated (11111111-1111-1111-1111-111111111111), never a real id.
 * scripts/up.sh looks for the same sixteen, lower case.
 */
const PLACEHOLDER_ID = /([0-9a-f])\1{7}-\1{4}-\1{4}-\1{4}-\1{12}/;

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

/**
 * The keys whose values hold a placeholder id, once each, in file order, with the first id found: scripts/up.sh's
 * `placeholderKeys` line for line (comment lines and trailing comments skipped; a list item belongs to the key
 * above it; the key is the part after the namespace), so both name the same keys.
 */
export function placeholderKeys(text: string): { readonly key: string; readonly id: string }[] {
    const found: { key: string; id: string }[] = [];
    let key = "";
    for (const line of text.split(/\r?\n/)) {
        if (/^\s*#/.test(line)) continue;
        const keyMatch = /^\s*[A-Za-z0-9-]+:([A-Za-z0-9]+):/.exec(line);
        if (keyMatch) key = keyMatch[1];
        const value = line.replace(/\s#.*$/s, "");
        const id = PLACEHOLDER_ID.exec(value)?.[0];
        if (id !== undefined && key !== "" && !found.some((f) => f.key === key)) {
            found.push({ key, id });
        }
    }
    return found;
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
    const problems: Problem[] = placeholderKeys(text).map(({ key, id }) => ({
        key,
        value: `the example's placeholder id ${id}`,
        expected: "your own value: npm run up refuses a stack file that still holds the example's placeholder ids",
    }));
    const raw: Record<string, string> = {};
    for (const [fullKey, value] of Object.entries(config)) {
        const namespace = fullKey.includes(":") ? fullKey.slice(0, fullKey.indexOf(":")) : "";
        const key = fullKey.slice(namespace.length + 1);
        if (namespace === PROJECT) {
            raw[key] = rawValue(value);
        } else {
            problems.push(
                ...misspeltNamespaceProblems(
                    fullKey,
                    rawValue(value) === ENCRYPTED_VALUE ? "a secret (value hidden)" : show(rawValue(value)),
                ),
            );
        }
    }
    try {
        parseStackConfig(raw, stack, (value) => pulumi.secret(value));
    } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        problems.push(...error.problems);
    }
    return { file, stack, problems: problems.map((problem) => formatProblem(problem).replace(/^ {2}- /, "")) };
}

/** Validates every stack file in the project directory. */
export function validateStackFiles(projectDir: string): StackFileReport[] {
    return fs
        .readdirSync(projectDir)
        .filter((name) => STACK_FILE.test(name))
        .sort()
        .map((name) => validateStackFile(name, fs.readFileSync(path.join(projectDir, name), "utf8")));
}

/** What a run prints and its exit code. */
export interface ValidateRun {
    readonly exitCode: 0 | 1 | 2;
    readonly stdout: readonly string[];
    readonly stderr: readonly string[];
}

/**
 * `npm run validate [files...]`: the files given (relative to `cwd`, shown as given), or every stack file in
 * `projectDir`.
 */
export function validate(files: readonly string[], cwd: string, projectDir: string): ValidateRun {
    const stderr: string[] = [];
    let reports: StackFileReport[];
    if (files.length === 0) {
        reports = validateStackFiles(projectDir);
        if (reports.length === 0) {
            return { exitCode: 2, stdout: [], stderr: [`no Pulumi.<stack>.yaml files in ${projectDir}`] };
        }
    } else {
        for (const file of files) {
            if (!STACK_FILE.test(path.basename(file))) {
                stderr.push(`${file}: expected a stack file named Pulumi.<stack>.yaml (the stack's name is part of the file's)`);
            } else if (!fs.statSync(path.resolve(cwd, file), { throwIfNoEntry: false })?.isFile()) {
                stderr.push(`${file}: no such file (paths are relative to ${cwd})`);
            }
        }
        if (stderr.length > 0) {
            return { exitCode: 2, stdout: [], stderr: [...stderr, "Nothing was validated."] };
        }
        reports = files.map((file) => validateStackFile(file, fs.readFileSync(path.resolve(cwd, file), "utf8")));
    }
    const stdout: string[] = [];
    for (const report of reports) {
        if (report.problems.length === 0) {
            stdout.push(`${report.file}: ok`);
        }
        for (const problem of report.problems) {
            stdout.push(`${report.file}: ${problem}`);
        }
    }
    const bad = reports.filter((report) => report.problems.length > 0).length;
    stdout.push(`${reports.length - bad} valid, ${bad} invalid`);
    return { exitCode: bad > 0 ? 1 : 0, stdout, stderr };
}

if (require.main === module) {
    // npm runs scripts in the package's directory; INIT_CWD is where the user typed the command.
    const run = validate(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), path.resolve(__dirname, "..", ".."));
    for (const line of run.stdout) console.log(line);
    for (const line of run.stderr) console.error(line);
    process.exitCode = run.exitCode;
}
