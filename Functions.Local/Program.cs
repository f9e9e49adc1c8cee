using Functions.Local;

await using var app = await LocalHost.BuildAsync(LocalHost.CreateBuilder(args));
await app.RunAsync();
