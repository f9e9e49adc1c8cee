using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// Keeps every log entry of a host, at every level, as a sink would store it: the message, the structured values, the
/// scopes and the exception with its inner exceptions. Add it with <see cref="AddTo"/>.
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> entries = new();
    private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<string> Entries => entries;

    /// <summary>Captures all categories at Trace, whatever the host's own filters say.</summary>
    public void AddTo(ILoggingBuilder logging) =>
        logging.AddProvider(this).AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider.scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            var text = new System.Text.StringBuilder($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)}");
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                text.Append(" {").AppendJoin(", ", values.Select(value => $"{value.Key}={value.Value}")).Append('}');
            }
            provider.scopes.ForEachScope((scope, builder) => builder.Append(" scope: ").Append(scope), text);
            text.Append(' ').Append(exception);
            provider.entries.Enqueue(text.ToString());
        }
    }
}
