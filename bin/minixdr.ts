// One image, one entrypoint: `minixdr operator|detector|console|render ...`.
const [command, ...args] = process.argv.slice(2);

switch (command) {
  case "operator":
    await (await import("../operator/main.ts")).main(args);
    break;
  case "detector":
    await (await import("../detector/main.ts")).main();
    break;
  case "console":
    await (await import("../console/main.ts")).main();
    break;
  case "render":
    (await import("../operator/render/cli.ts")).renderMain(args);
    break;
  default:
    console.error("usage: minixdr operator|detector|console|render [args]\n  operator  run the controller\n  detector  run the detector workload\n  console   serve the analysts' web console\n  render    print the objects a MiniXdr file renders to");
    process.exit(2);
}
