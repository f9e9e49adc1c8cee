using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Functions.Tests.Infrastructure;

/// <summary>Keeps every log line, so a test can assert that a warning was (or was not) written.</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogLine> lines = new();

    public IReadOnlyCollection<LogLine> Lines => lines;

    public ILogger CreateLogger(string categoryName) => new ListLogger(categoryName, lines);

    public ILogger<T> CreateLogger<T>() => new Logger<T>(new LoggerFactory([this]));

    public void Dispose()
    {
    }

    private sealed class ListLogger(string category, ConcurrentQueue<LogLine> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(new LogLine(category, logLevel, eventId.Id, formatter(state, exception)));
    }
}

public sealed record LogLine(string Category, LogLevel Level, int EventId, string Message);
