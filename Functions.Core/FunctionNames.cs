using Functions.Core.Cache;
using Functions.Core.Jobs;
using Functions.Core.Resilience;
using Functions.Core.Spend;
using Functions.Core.Storage;

namespace Functions.Core;

/// <summary>
/// Every trigger's name and binding, once, for both hosts: the Functions app's attributes and Functions.Local's wiring
/// read these constants, and a test compares the app's generated functions.metadata with what Functions.Local runs.
/// Queue names and schedules are app-setting expressions (<c>%Setting%</c>) that each host resolves from configuration.
/// </summary>
public static class FunctionNames
{
    /// <summary>The Functions host's default HTTP route prefix (host.json <c>extensions.http.routePrefix</c> is not set).</summary>
    public const string RoutePrefix = "api";

    public const string SubmitChat = nameof(SubmitChat);
    public const string SubmitChatRoute = JobRoutes.Submit;

    public const string GetChat = nameof(GetChat);
    public const string GetChatRoute = JobRoutes.Status;

    public const string StreamChat = nameof(StreamChat);
    public const string StreamChatRoute = JobRoutes.Stream;

    public const string ChatCompletions = nameof(ChatCompletions);
    public const string ChatCompletionsRoute = global::Functions.Core.ChatCompletions.ChatCompletionRoutes.Completions;

    public const string CreateConversation = nameof(CreateConversation);
    public const string ListConversations = nameof(ListConversations);
    public const string ConversationsRoute = Conversations.ConversationRoutes.Collection;

    public const string GetConversation = nameof(GetConversation);
    public const string DeleteConversation = nameof(DeleteConversation);
    public const string ConversationRoute = Conversations.ConversationRoutes.Item;

    public const string GetSpend = nameof(GetSpend);
    public const string GetSpendRoute = SpendReportHandler.Route;

    public const string ProcessChat = nameof(ProcessChat);
    public const string ChatQueueSetting = StorageOptions.SectionName + ":" + nameof(StorageOptions.ChatQueue);
    public const string ChatQueue = "%" + ChatQueueSetting + "%";

    /// <summary>Where the host moves a message after maxDequeueCount failed attempts: the queue's name plus this.</summary>
    public const string PoisonSuffix = "-poison";

    public const string ProcessChatPoison = nameof(ProcessChatPoison);
    public const string ChatPoisonQueue = ChatQueue + PoisonSuffix;

    public const string SummarizeConversation = nameof(SummarizeConversation);
    public const string SummaryQueueSetting = Conversations.ConversationsOptions.SectionName + ":" + nameof(Conversations.ConversationsOptions.SummaryQueue);
    public const string SummaryQueue = "%" + SummaryQueueSetting + "%";

    public const string SpendRollup = nameof(SpendRollup);
    public const string SpendRollupScheduleSetting = SpendRollupHandler.ScheduleSetting;
    public const string SpendRollupSchedule = "%" + SpendRollupScheduleSetting + "%";

    public const string SweepCache = nameof(SweepCache);
    public const string SweepCacheScheduleSetting = CacheOptions.SectionName + ":" + nameof(CacheOptions.SweepSchedule);
    public const string SweepCacheSchedule = "%" + SweepCacheScheduleSetting + "%";

    public const string SweepJobs = nameof(SweepJobs);
    public const string SweepJobsScheduleSetting = ResilienceOptions.SectionName + ":" + nameof(ResilienceOptions.JobSweepSchedule);
    public const string SweepJobsSchedule = "%" + SweepJobsScheduleSetting + "%";

    /// <summary>The catch-all for /api requests no other route and method take (404, or 405 with Allow).</summary>
    public const string UnmatchedRoute = nameof(UnmatchedRoute);
    public const string UnmatchedRouteTemplate = "{*path}";

    public const string OperationalAlerts = nameof(OperationalAlerts);
    public const string OperationalAlertsScheduleSetting = global::Functions.Core.Alerts.OperationalAlertOptions.ScheduleSetting;
    public const string OperationalAlertsSchedule = "%" + OperationalAlertsScheduleSetting + "%";
}
