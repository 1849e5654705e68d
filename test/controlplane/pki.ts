import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CertificateFiles {
  cert: string;
  key: string;
}

export interface ClientIdentity extends CertificateFiles {
  user: string;
  groups: string[];
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run("openssl", args, { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A throwaway certificate authority for one control plane, kept in its temp dir. */
export class TestPki {
  readonly ca: CertificateFiles;
  private serial = 1;

  private readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.ca = { cert: join(dir, "ca.crt"), key: join(dir, "ca.key") };
  }

  /** The CA an earlier `create` left in `dir`, to issue more certificates from another process. */
  static open(dir: string): TestPki {
    const pki = new TestPki(dir);
    pki.serial = 1000 + Math.floor(Math.random() * 1_000_000);
    return pki;
  }

  static async create(dir: string): Promise<TestPki> {
    const pki = new TestPki(dir);
    await openssl(
      ["req", "-x509", ...ecKey, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/CN=minixdr-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
      dir,
    );
    return pki;
  }

  private async issue(name: string, subject: string, extensions: string[]): Promise<CertificateFiles> {
    const files = { cert: join(this.dir, `${name}.crt`), key: join(this.dir, `${name}.key`) };
    await openssl(["req", ...ecKey, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], this.dir);
    await writeFile(join(this.dir, `${name}.ext`), extensions.join("\n") + "\n");
    await openssl(
      ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", String(++this.serial),
        "-out", `${name}.crt`, "-days", "30", "-extfile", `${name}.ext`],
      this.dir,
    );
    return files;
  }

  /** Serving certificate for kube-apiserver on loopback and the in-cluster service names. */
  serving(name: string): Promise<CertificateFiles> {
    const san = ["IP:127.0.0.1", "IP:10.0.0.1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
      "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"];
    return this.issue(name, `/CN=${name}`, ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth", `subjectAltName=${san.join(",")}`]);
  }

  /** Client certificate: kube-apiserver reads the user from CN and the groups from O. */
  async client(user: string, groups: string[] = []): Promise<ClientIdentity> {
    const safe = user.replace(/[^a-zA-Z0-9-]/g, "-");
    const subject = groups.map((g) => `/O=${g}`).join("") + `/CN=${user}`;
    const files = await this.issue(`client-${safe}`, subject, ["basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=clientAuth"]);
    return { ...files, user, groups };
  }
}

/** RSA key pair that signs and verifies service-account tokens. */
export async function writeServiceAccountKeys(dir: string): Promise<{ privateKey: string; publicKey: string }> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const files = { privateKey: join(dir, "sa.key"), publicKey: join(dir, "sa.pub") };
  await writeFile(files.privateKey, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  await writeFile(files.publicKey, publicKey.export({ type: "spki", format: "pem" }));
  return files;
}

/** A kubeconfig with the credentials inlined, so it can be copied anywhere. */
export async function kubeconfigFor(server: string, caFile: string, identity: CertificateFiles & { user: string }): Promise<string> {
  const b64 = async (f: string) => (await readFile(f)).toString("base64");
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: minixdr-local",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${await b64(caFile)}`,
    "users:",
    `- name: ${identity.user}`,
    "  user:",
    `    client-certificate-data: ${await b64(identity.cert)}`,
    `    client-key-data: ${await b64(identity.key)}`,
    "contexts:",
    "- name: minixdr-local",
    "  context:",
    "    cluster: minixdr-local",
    `    user: ${identity.user}`,
    "current-context: minixdr-local",
    "",
  ].join("\n");
}
