// Drives the npm package cybertipline-tools, unmodified but for its base URL,
// against a live Guardian hub. Each step prints one JSON line that the Go test
// (cmd/guardian/npm_client_test.go) checks against the hub's store.
//
// Environment: GUARDIAN_URL (the intake base, e.g. http://127.0.0.1:8080/ispws),
// GUARDIAN_USER, GUARDIAN_PASSWORD.
import { Client, Environment, IncidentType } from "cybertipline-tools";

const base = process.env.GUARDIAN_URL;
const credentials = { username: process.env.GUARDIAN_USER, password: process.env.GUARDIAN_PASSWORD };

function client(creds = credentials) {
  const c = new Client({ environment: Environment.Testing, credentials: creds });
  c.baseUrl = base; // the only change: point the client at Guardian
  return c;
}

function emit(step, value) {
  process.stdout.write(JSON.stringify({ step, ...value }) + "\n");
}

async function attempt(step, fn) {
  try {
    const res = await fn();
    emit(step, { ok: true, data: res.data, requestId: res.requestId });
    return res;
  } catch (e) {
    emit(step, { ok: false, error: String(e.message) });
    return null;
  }
}

const report = {
  incidentSummary: {
    incidentType: IncidentType.ChildPornography,
    platform: "Example Chat for Web",
    reportAnnotations: { sextortion: true },
    incidentDateTime: new Date("2024-05-06T18:30:00Z"),
  },
  incidentDetails: { webPageIncidents: [{ url: ["https://www.example.com/p/npm-000001"] }] },
  reporter: {
    reportingPerson: { firstName: "Jordan", lastName: "Example", email: [{ email: "trust-safety@example.com" }] },
  },
};

const c = client();
await attempt("status", () => c.getStatus());
await attempt("status-wrong-password", () => client({ ...credentials, password: "wrong" }).getStatus());

const submitted = await attempt("submit", () => c.submitReport(report));
const id = submitted?.data?.reportId;
const bytes = new Uint8Array(100 * 1024);
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
const uploaded = await attempt("upload", () => c.uploadFile({ id, file: new File([bytes], "IMG_0001.jpg") }));
const fileId = uploaded?.data?.fileId;
await attempt("fileinfo", () =>
  c.submitFileDetails({
    reportId: Number(id),
    fileId,
    originalFileName: "IMG_0001.jpg",
    fileViewedByEsp: true,
    publiclyAvailable: false,
    fileRelevance: "Reported",
    fileAnnotations: { viral: true },
    ipCaptureEvent: { ipAddress: "198.51.100.23", eventName: "Upload", dateTime: new Date("2024-05-06T18:04:58Z") },
  }),
);
await attempt("finish", () => c.finishReport({ id }));
// Error paths.
await attempt("finish-again", () => c.finishReport({ id })); // 5102, which this client treats as success
await attempt("upload-after-finish", () => c.uploadFile({ id, file: new File([bytes], "late.bin") }));
await attempt("submit-enticement-typo", () =>
  c.submitReport({ ...report, incidentSummary: { ...report.incidentSummary, incidentType: IncidentType.OnlineEnticement } }),
);
await attempt("finish-unknown", () => c.finishReport({ id: 987654321 }));
const second = await attempt("submit-second", () => c.submitReport(report));
await attempt("fileinfo-unknown-file", () =>
  c.submitFileDetails({ reportId: Number(second?.data?.reportId), fileId: "abcdef0123456789abcdef0123456789" }),
);
await attempt("retract", () => c.cancelReport({ id: second?.data?.reportId }));
await attempt("upload-after-retract", () => c.uploadFile({ id: second?.data?.reportId, file: new File([bytes], "x.bin") }));
