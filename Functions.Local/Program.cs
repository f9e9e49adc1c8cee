using Functions.Local;

await using var app = await LocalHost.BuildAsync(args);
await app.RunAsync();
