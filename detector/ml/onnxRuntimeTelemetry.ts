// Imported before onnxruntime-node, wherever it is loaded: its native library reads ORT_DISABLE_TELEMETRY when it
// loads. Left on, onnxruntime-node 1.30 looks up a Microsoft telemetry host at every start (DNS the detector's
// NetworkPolicy allows, in the customer's DNS logs), writes a device id under $HOME/.cache/Microsoft and a
// /tmp/mat-debug-<pid>.log, and prints non-JSON warnings into the JSON log. A security product phones home to nobody.
process.env.ORT_DISABLE_TELEMETRY ??= "1";
