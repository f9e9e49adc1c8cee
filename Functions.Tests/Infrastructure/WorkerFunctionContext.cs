using System.Collections.Immutable;
using Microsoft.Azure.Functions.Worker;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// The <see cref="FunctionContext"/> of one invocation, with what the app's code reads from it: the invocation's service
/// scope (which the worker's <see cref="IFunctionActivator"/> activates the function class from), the function's name,
/// its cancellation token and, for an HTTP trigger, the HttpContext where the ASP.NET Core integration puts it.
/// </summary>
public sealed class WorkerFunctionContext(FunctionsMetadata function, IServiceProvider services, CancellationToken cancellationToken)
    : FunctionContext
{
    /// <summary>The key under which the worker's ASP.NET Core integration keeps the HttpContext (<c>GetHttpContext()</c> reads it).</summary>
    public const string HttpContextKey = "HttpRequestContext";

    public override string InvocationId { get; } = Guid.NewGuid().ToString();
    public override string FunctionId => function.Name;
    public override TraceContext TraceContext => throw new NotSupportedException();
    public override BindingContext BindingContext => throw new NotSupportedException();
    public override RetryContext RetryContext => throw new NotSupportedException();
    public override IServiceProvider InstanceServices { get; set; } = services;
    public override FunctionDefinition FunctionDefinition { get; } = new Definition(function);
    public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object>();
    public override IInvocationFeatures Features => throw new NotSupportedException();
    public override CancellationToken CancellationToken => cancellationToken;

    private sealed class Definition(FunctionsMetadata function) : FunctionDefinition
    {
        public override ImmutableArray<FunctionParameter> Parameters => [];
        public override string PathToAssembly => typeof(global::Functions.ChatHttpTriggers).Assembly.Location;
        public override string EntryPoint => function.EntryPoint;
        public override string Id => function.Name;
        public override string Name => function.Name;
        public override IImmutableDictionary<string, BindingMetadata> InputBindings => ImmutableDictionary<string, BindingMetadata>.Empty;
        public override IImmutableDictionary<string, BindingMetadata> OutputBindings => ImmutableDictionary<string, BindingMetadata>.Empty;
    }
}
