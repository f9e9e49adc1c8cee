namespace Functions.Core.Telemetry;

/// <summary>
/// Every span, attribute and metric name the backend emits, in one place. The <c>gen_ai.*</c> names are the
/// OpenTelemetry GenAI semantic conventions (client spans and metrics); <c>chat_backend.*</c> are this backend's own.
/// </summary>
public static class TelemetryNames
{
    /// <summary>The ActivitySource and the Meter: what an exporter subscribes to.</summary>
    public const string Source = "ChatBackend";

    public static class Spans
    {
        /// <summary>Either door's admission: caller, validation, cache, budget (tagged with the door's route).</summary>
        public const string Submit = "submit chat";

        /// <summary>The interactive door's run: the model calls and the recording, while the client waits.</summary>
        public const string Complete = "complete chat";
        public const string QueueWait = "queue wait";
        public const string Process = "process chat";
        public const string Record = "record chat";
        public const string Poison = "poison chat";

        /// <summary>The GenAI span name is <c>{gen_ai.operation.name} {gen_ai.request.model}</c>.</summary>
        public static string ModelCall(string model) => $"{GenAi.Chat} {model}";
    }

    public static class GenAi
    {
        public const string Chat = "chat";
        public const string OperationName = "gen_ai.operation.name";
        public const string ProviderName = "gen_ai.provider.name";
        public const string RequestModel = "gen_ai.request.model";
        public const string RequestTemperature = "gen_ai.request.temperature";
        public const string RequestMaxTokens = "gen_ai.request.max_tokens";
        public const string RequestTopP = "gen_ai.request.top_p";
        public const string RequestSeed = "gen_ai.request.seed";
        public const string ResponseModel = "gen_ai.response.model";
        public const string ResponseFinishReasons = "gen_ai.response.finish_reasons";
        public const string ResponseTimeToFirstChunk = "gen_ai.response.time_to_first_chunk";
        public const string UsageInputTokens = "gen_ai.usage.input_tokens";
        public const string UsageOutputTokens = "gen_ai.usage.output_tokens";
        public const string UsageCachedInputTokens = "gen_ai.usage.cache_read.input_tokens";
        public const string TokenType = "gen_ai.token.type";
        public const string InputMessages = "gen_ai.input.messages";
        public const string OutputMessages = "gen_ai.output.messages";
        public const string OpenAI = "openai";
        public const string AzureOpenAI = "azure.ai.openai";
    }

    public const string ErrorType = "error.type";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";
    public const string HttpStatusCode = "http.response.status_code";

    /// <summary>This backend's attributes.</summary>
    public static class Ours
    {
        public const string CallerHash = "chat_backend.caller.hash";
        public const string Route = "chat_backend.route";
        public const string CacheOutcome = "chat_backend.cache.outcome";
        public const string CostMicros = "chat_backend.cost.micros";
        public const string RetryCount = "chat_backend.retry_count";
        public const string JobId = "chat_backend.job.id";
        public const string JobAttempt = "chat_backend.job.attempt";
        public const string Budget = "chat_backend.budget.name";
        public const string RateLimit = "chat_backend.rate_limit.name";
        public const string Streamed = "chat_backend.streamed";
    }

    public static class Metrics
    {
        public const string TokenUsage = "gen_ai.client.token.usage";
        public const string OperationDuration = "gen_ai.client.operation.duration";
        public const string TimeToFirstChunk = "gen_ai.client.operation.time_to_first_chunk";
        public const string Cost = "chat_backend.cost";
        public const string CacheRequests = "chat_backend.cache.requests";
        public const string UpstreamResponses = "chat_backend.upstream.responses";
        public const string BudgetRefusals = "chat_backend.budget.refusals";
        public const string RateLimitRefusals = "chat_backend.rate_limit.refusals";
        public const string QueueWait = "chat_backend.queue.wait";
        public const string CircuitOpened = "chat_backend.circuit.opened";
        public const string PoisonMessages = "chat_backend.poison.messages";
        public const string TelemetryDropped = "chat_backend.telemetry.dropped";
    }

    /// <summary>The routes (doors) a request came in by, as <see cref="Ours.Route"/> values.</summary>
    public static class Routes
    {
        public const string Chat = "api/chat";
        public const string ChatCompletions = "api/v1/chat/completions";
    }

    /// <summary><see cref="Ours.CacheOutcome"/> values of the cache-requests counter.</summary>
    public static class CacheOutcomes
    {
        public const string Hit = "hit";
        public const string Miss = "miss";
        public const string Bypass = "bypass";
        public const string Collapsed = "collapsed";
    }
}
