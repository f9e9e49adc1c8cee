using System.Reflection;
using System.Text;
using Functions.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// The Azure Functions app's own host, built by its Program.cs with the test's settings and services added last
/// (<see cref="HostCapture"/>) and never started, so it never dials a Functions host over gRPC. Its functions are
/// invoked as the worker invokes them, from what functions.metadata lists: a service scope per invocation, the class
/// activated by the worker's <see cref="IFunctionActivator"/>, an HTTP trigger run inside the app's worker middleware
/// on a real HttpContext whose result is then executed as the ASP.NET Core integration executes it.
/// </summary>
public sealed class FunctionsAppHost : IAsyncDisposable
{
    /// <summary>The app's worker middleware, in the order Program.cs registers it (UseMiddleware adds each as a service).</summary>
    private readonly IReadOnlyList<Type> middleware;

    private FunctionsAppHost(IHost host, IReadOnlyList<Type> middleware)
    {
        Host = host;
        this.middleware = middleware;
    }

    public IHost Host { get; }

    public IServiceProvider Services => Host.Services;

    public IReadOnlyList<FunctionsMetadata> Functions { get; } = FunctionsMetadata.Read();

    /// <summary>Builds the host from the app's entry point; nothing runs yet.</summary>
    public static FunctionsAppHost Build(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    {
        var app = typeof(global::Functions.ChatHttpTriggers).Assembly;
        var middleware = new List<Type>();
        var host = HostCapture.Build(app.EntryPoint!, [], builder =>
        {
            builder.ConfigureServices((_, registered) => middleware.AddRange(registered
                .Select(service => service.ServiceType)
                .Where(type => type.Assembly == app && typeof(IFunctionsWorkerMiddleware).IsAssignableFrom(type))));
            builder.ConfigureAppConfiguration(configuration => configuration
                .AddInMemoryCollection(FromTheFunctionsHost)
                .AddInMemoryCollection(settings));
            builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
            if (services is not null)
            {
                builder.ConfigureServices(services);
            }
        });
        return new FunctionsAppHost(host, middleware);
    }

    /// <summary>
    /// What the Functions host hands the worker when it launches it; the worker's start-up validation requires it. The
    /// endpoint is never dialled: the host is not started.
    /// </summary>
    private static readonly Dictionary<string, string?> FromTheFunctionsHost = new()
    {
        ["Functions:Worker:HostEndpoint"] = "http://127.0.0.1:9",
        ["Functions:Worker:WorkerId"] = "test-worker",
        ["Functions:Worker:RequestId"] = "test-request",
        ["Functions:Worker:GrpcMaxMessageLength"] = "2147483647",
    };

    /// <summary>
    /// The host ready for invocations, as far as a host can be without the Functions host: its start-up validation run
    /// and every <see cref="IHostedLifecycleService.StartingAsync"/> done (secrets loaded, tables and queues created);
    /// the hosted services' StartAsync (the gRPC worker, Kestrel) never runs.
    /// </summary>
    public static async Task<FunctionsAppHost> StartAsync(AzuriteFixture azurite, Uri modelEndpoint,
        IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var host = Build(TestSettings.For(azurite, modelEndpoint, settings), services);
        try
        {
            host.Services.GetRequiredService<IStartupValidator>().Validate();
            foreach (var service in host.Services.GetServices<IHostedService>().OfType<IHostedLifecycleService>())
            {
                await service.StartingAsync(CancellationToken.None);
            }
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }

    public FunctionsMetadata Function(string name) => Functions.Single(function => function.Name == name);

    /// <summary>Sends a request to the HTTP trigger whose route matches, as the Functions host routes it.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
    {
        var path = request.RequestUri!.IsAbsoluteUri ? request.RequestUri.AbsolutePath : request.RequestUri.OriginalString.Split('?')[0];
        var query = request.RequestUri.IsAbsoluteUri ? request.RequestUri.Query
            : request.RequestUri.OriginalString.Contains('?') ? "?" + request.RequestUri.OriginalString.Split('?', 2)[1] : "";
        var (function, routeValues) = Route(request.Method.Method, path)
            ?? throw new InvalidOperationException($"No HTTP trigger in functions.metadata serves {request.Method} {path}.");

        await using var scope = Services.CreateAsyncScope();
        var http = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        http.Request.Method = request.Method.Method;
        http.Request.Scheme = "http";
        http.Request.Host = new HostString("localhost", 7071);
        http.Request.Path = path;
        http.Request.QueryString = new QueryString(query);
        foreach (var (name, values) in request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>()))
        {
            http.Request.Headers[name] = values.ToArray();
        }
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync();
        http.Request.Body = new MemoryStream(body);
        http.Request.ContentLength = request.Content is null ? null : body.Length;
        foreach (var (key, value) in routeValues)
        {
            http.Request.RouteValues[key] = value;
        }
        var responseBody = new MemoryStream();
        http.Response.Body = responseBody;

        var context = new WorkerFunctionContext(function, scope.ServiceProvider, http.RequestAborted);
        context.Items[WorkerFunctionContext.HttpContextKey] = http;
        if (context.GetHttpContext() != http)
        {
            throw new InvalidOperationException("The worker keeps the HttpContext under another key now; update WorkerFunctionContext.HttpContextKey.");
        }

        object? result = null;
        await RunAsync(context, async () => result = await InvokeAsync(context, http));
        switch (result)
        {
            case IActionResult action:
                await action.ExecuteResultAsync(new ActionContext(http, http.GetRouteData(), new ActionDescriptor()));
                break;
            case IResult minimal:
                await minimal.ExecuteAsync(http);
                break;
        }

        var response = new HttpResponseMessage((System.Net.HttpStatusCode)http.Response.StatusCode)
        {
            Content = new ByteArrayContent(responseBody.ToArray()),
        };
        foreach (var (name, values) in http.Response.Headers)
        {
            if (!response.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                response.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }
        return response;
    }

    /// <summary>Runs a queue trigger with a message body, as the host hands it over (already decoded from Base64).</summary>
    public Task InvokeQueueAsync(string functionName, string message) => InvokeAsync(functionName, message);

    public Task InvokeTimerAsync(string functionName) => InvokeAsync(functionName, new TimerInfo());

    private async Task InvokeAsync(string functionName, object triggerValue)
    {
        await using var scope = Services.CreateAsyncScope();
        var context = new WorkerFunctionContext(Function(functionName), scope.ServiceProvider, CancellationToken.None);
        await RunAsync(context, () => InvokeAsync(context, triggerValue));
    }

    /// <summary>The function inside the app's worker middleware, first registered outermost, as the worker chains it.</summary>
    private Task RunAsync(FunctionContext context, Func<Task> function)
    {
        FunctionExecutionDelegate next = _ => function();
        foreach (var type in middleware.Reverse())
        {
            var inner = next;
            var instance = (IFunctionsWorkerMiddleware)context.InstanceServices.GetRequiredService(type);
            next = invocation => instance.Invoke(invocation, inner);
        }
        return next(context);
    }

    /// <summary>Activates the function's class with the worker's activator and calls its method, binding each parameter.</summary>
    private async Task<object?> InvokeAsync(WorkerFunctionContext context, object trigger)
    {
        var entryPoint = context.FunctionDefinition.EntryPoint;
        var split = entryPoint.LastIndexOf('.');
        var type = typeof(global::Functions.ChatHttpTriggers).Assembly.GetType(entryPoint[..split], throwOnError: true)!;
        var method = type.GetMethod(entryPoint[(split + 1)..], BindingFlags.Public | BindingFlags.Instance)!;
        var instance = Services.GetRequiredService<IFunctionActivator>().CreateInstance(type, context);
        var http = trigger as HttpContext;
        var arguments = method.GetParameters().Select(parameter => parameter.ParameterType switch
        {
            var t when t == typeof(CancellationToken) => context.CancellationToken,
            var t when t == typeof(FunctionContext) => context,
            var t when t == typeof(HttpRequest) => http!.Request,
            var t when t == typeof(string) && http is not null => http.Request.RouteValues[parameter.Name!]?.ToString(),
            var t when t.IsInstanceOfType(trigger) => trigger,
            var t => throw new NotSupportedException($"{entryPoint}: no binding for parameter {parameter.Name} of type {t.Name}."),
        }).ToArray();

        var returned = method.Invoke(instance, arguments);
        if (returned is not Task task)
        {
            return returned;
        }
        await task;
        return task.GetType().IsGenericType ? task.GetType().GetProperty(nameof(Task<object>.Result))!.GetValue(task) : null;
    }

    private (FunctionsMetadata Function, RouteValueDictionary Values)? Route(string method, string path)
    {
        // As the Functions host routes: the most specific template first, so a catch-all takes only what is left.
        foreach (var function in Functions.Where(function => function.Trigger.Type == "httpTrigger")
                     .OrderBy(function => RoutePrecedence.ComputeInbound(TemplateParser.Parse(function.Trigger.Route!))))
        {
            var trigger = function.Trigger;
            if (!trigger.Methods.Contains(method, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }
            var template = TemplateParser.Parse(FunctionNames.RoutePrefix + "/" + trigger.Route);
            var values = new RouteValueDictionary();
            if (new TemplateMatcher(template, new RouteValueDictionary()).TryMatch(path, values))
            {
                return (function, values);
            }
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        if (Host is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
        else
        {
            Host.Dispose();
        }
    }
}
