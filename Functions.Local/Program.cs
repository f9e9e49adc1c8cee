using Functions.Local;

return await LocalHost.RunAsync(args);
