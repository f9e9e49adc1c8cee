using System.Globalization;
using System.Text.Json.Nodes;
using Functions.Core.Spend;
using Functions.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Alerts;

/// <summary>
/// The <c>OperationalAlerts</c> timer's work (every minute by default, <see cref="OperationalAlertOptions.ScheduleSetting"/>):
/// judge every instance's health counts, open an episode when a condition starts firing and close it when it stops,
/// and send each episode's "started" and "ended" alerts once through the alert channels. A condition that is still
/// firing sends nothing new; a failed delivery is retried on the next run (<see cref="AlertDelivery"/>).
/// </summary>
public sealed class OperationalAlerts(
    HealthCountersFlusher flusher,
    HealthCountersTable counters,
    AlertEpisodes episodes,
    AlertStates states,
    AlertDelivery delivery,
    AlertSender sender,
    IOptions<OperationalAlertOptions> options,
    TimeProvider time,
    ILogger<OperationalAlerts> logger)
{
    public const string Partition = "alert-ops";

    public static class Kinds
    {
        public const string RateLimited = "rate_limited";
        public const string ServerErrors = "server_errors";
        public const string CircuitOpen = "circuit_open";
        public const string PoisonMessages = "poison_messages";
        public const string UnusualSpend = "unusual_spend";
    }

    /// <summary>A condition as this run judged it, with the words and figures its "started" alert carries.</summary>
    internal sealed record Condition(string Kind, bool Firing, string Title, string Line, JsonObject Details);

    /// <returns>How many alerts this run delivered.</returns>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        await flusher.FlushAsync(cancellationToken); // this instance's latest counts count too
        var now = time.GetUtcNow();
        var delivered = 0;
        var hasChannels = (await sender.ChannelsAsync(cancellationToken)).Count > 0;
        foreach (var condition in await JudgeAsync(now, cancellationToken))
        {
            delivered += await ObserveAsync(condition, now, hasChannels, cancellationToken);
        }
        return delivered;
    }

    internal async Task<IReadOnlyList<Condition>> JudgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var end = MinuteOf(now).AddMinutes(1); // the current minute counts, as far as it has gone
        var window = await counters.SumAsync(end - settings.Window, end, cancellationToken);
        var minutes = (int)settings.Window.TotalMinutes;
        var conditions = new List<Condition>();

        if (settings.RateLimitedPercent > 0)
        {
            conditions.Add(Rate(Kinds.RateLimited, "rate limited (429)", window.RateLimited, window.Calls, settings, settings.RateLimitedPercent));
        }
        if (settings.ServerErrorPercent > 0)
        {
            conditions.Add(Rate(Kinds.ServerErrors, "server errors (5xx, timeouts)", window.ServerErrors, window.Calls,
                settings, settings.ServerErrorPercent));
        }
        if (settings.CircuitOpen)
        {
            conditions.Add(new Condition(Kinds.CircuitOpen, window.CircuitOpens > 0, "The upstream circuit breaker opened",
                $"It opened {window.CircuitOpens} times in the last {minutes} minutes: model calls on every instance wait while it is open.",
                new JsonObject { ["circuitOpens"] = window.CircuitOpens, ["windowMinutes"] = minutes }));
        }
        if (settings.PoisonMessages > 0)
        {
            conditions.Add(new Condition(Kinds.PoisonMessages, window.Poisoned >= settings.PoisonMessages,
                "Job messages are reaching the poison queue",
                $"{window.Poisoned} messages in the last {minutes} minutes failed every delivery; their jobs ended Failed.",
                new JsonObject { ["poisonMessages"] = window.Poisoned, ["windowMinutes"] = minutes, ["threshold"] = settings.PoisonMessages }));
        }
        if (settings.SpendMultiplier > 0)
        {
            conditions.Add(await SpendAsync(end, settings, cancellationToken));
        }
        return conditions;
    }

    private static Condition Rate(string kind, string what, long failures, long calls, OperationalAlertOptions settings,
        double thresholdPercent)
    {
        var minutes = (int)settings.Window.TotalMinutes;
        var percent = calls == 0 ? 0 : Math.Round(failures * 100.0 / calls, 1);
        var firing = calls >= settings.MinimumCalls && percent >= thresholdPercent;
        return new Condition(kind, firing, $"{percent.ToString(CultureInfo.InvariantCulture)}% of model calls {what}",
            $"{failures} of {calls} model calls in the last {minutes} minutes were {what} (threshold {thresholdPercent.ToString(CultureInfo.InvariantCulture)}%).",
            new JsonObject
            {
                ["failures"] = failures, ["calls"] = calls, ["percent"] = percent, ["thresholdPercent"] = thresholdPercent,
                ["windowMinutes"] = minutes,
            });
    }

    private async Task<Condition> SpendAsync(DateTimeOffset end, OperationalAlertOptions settings, CancellationToken cancellationToken)
    {
        var lastHour = (await counters.SumAsync(end.AddHours(-1), end, cancellationToken)).CostMicros;
        var before = HourOf(end.AddHours(-1));
        long trailing = 0;
        for (var i = 1; i <= settings.SpendTrailingHours; i++)
        {
            trailing += (await counters.ClosedHourAsync(before.AddHours(-i), cancellationToken)).CostMicros;
        }
        var average = trailing / (double)settings.SpendTrailingHours;
        var minimum = (long)(settings.SpendMinimumUsd * Money.MicrosPerUsd);
        var firing = lastHour >= minimum && lastHour > 0 && lastHour >= settings.SpendMultiplier * average;
        var multiple = average > 0 ? Math.Round(lastHour / average, 1) : (double?)null;
        return new Condition(Kinds.UnusualSpend, firing,
            $"Unusual spend: {Money.Format(lastHour)} in the last hour",
            $"The last hour cost {Money.Format(lastHour)}, " +
            (multiple is { } times ? $"{times.ToString(CultureInfo.InvariantCulture)}x" : "far above") +
            $" the trailing {settings.SpendTrailingHours}-hour average of {Money.Format((long)average)} an hour " +
            $"(alerting at {settings.SpendMultiplier.ToString(CultureInfo.InvariantCulture)}x).",
            new JsonObject
            {
                ["lastHourUsd"] = Money.Usd(lastHour), ["lastHourMicros"] = lastHour, ["trailingAverageMicros"] = (long)average,
                ["trailingHours"] = settings.SpendTrailingHours, ["multiplier"] = settings.SpendMultiplier,
            });
    }

    private async Task<int> ObserveAsync(Condition condition, DateTimeOffset now, bool hasChannels, CancellationToken cancellationToken)
    {
        var episode = await episodes.GetAsync(condition.Kind, cancellationToken);
        if (condition.Firing && episode is not { IsOpen: true })
        {
            episode = await episodes.TryOpenAsync(condition.Kind, episode, now, cancellationToken)
                ?? await episodes.GetAsync(condition.Kind, cancellationToken);
            OperationalAlertsLog.Started(logger, condition.Kind, condition.Line);
        }
        else if (!condition.Firing && episode is { IsOpen: true } open)
        {
            episode = await episodes.TryCloseAsync(open, now, cancellationToken) ?? await episodes.GetAsync(condition.Kind, cancellationToken);
            OperationalAlertsLog.Ended(logger, condition.Kind, (long)(now - open.OpenedAt).TotalMinutes);
        }
        if (episode is null || !hasChannels)
        {
            return 0;
        }

        var delivered = 0;
        var started = episode.Key + "|started";
        var outcome = await delivery.DeliverAsync(Partition, started, await states.GetAsync(Partition, started, cancellationToken),
            _ => Task.FromResult(StartedMessage(condition, episode)), cancellationToken);
        delivered += outcome == AlertOutcome.Sent ? 1 : 0;
        if (episode.ClosedAt is { } closedAt)
        {
            var ended = episode.Key + "|ended";
            outcome = await delivery.DeliverAsync(Partition, ended, await states.GetAsync(Partition, ended, cancellationToken),
                _ => Task.FromResult(EndedMessage(condition.Kind, episode, closedAt)), cancellationToken);
            delivered += outcome == AlertOutcome.Sent ? 1 : 0;
        }
        return delivered;
    }

    internal static AlertMessage StartedMessage(Condition condition, AlertEpisode episode)
    {
        var details = (JsonObject)condition.Details.DeepClone();
        details["kind"] = condition.Kind;
        details["startedAt"] = episode.OpenedAt;
        return new AlertMessage($"ops:{episode.Key}:started", "ops." + condition.Kind, condition.Title,
            [condition.Line, $"Since {episode.OpenedAt:u}. Another alert says when it ends."], details);
    }

    internal static AlertMessage EndedMessage(string kind, AlertEpisode episode, DateTimeOffset closedAt)
    {
        var lasted = closedAt - episode.OpenedAt;
        return new AlertMessage($"ops:{episode.Key}:ended", "ops." + kind + ".ended", $"Resolved: {Describe(kind)}",
            [$"The episode that started at {episode.OpenedAt:u} ended at {closedAt:u}, after {(long)Math.Ceiling(lasted.TotalMinutes)} minutes."],
            new JsonObject { ["kind"] = kind, ["startedAt"] = episode.OpenedAt, ["endedAt"] = closedAt, ["minutes"] = Math.Ceiling(lasted.TotalMinutes) });
    }

    private static string Describe(string kind) => kind switch
    {
        Kinds.RateLimited => "upstream 429 rate back under its threshold",
        Kinds.ServerErrors => "upstream error rate back under its threshold",
        Kinds.CircuitOpen => "the upstream circuit stayed closed",
        Kinds.PoisonMessages => "no more poison messages",
        _ => "spend back to its usual level",
    };

    private static DateTimeOffset MinuteOf(DateTimeOffset at) => DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds() / 60 * 60);

    private static DateTimeOffset HourOf(DateTimeOffset at) => DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds() / 3600 * 3600);
}

internal static partial class OperationalAlertsLog
{
    [LoggerMessage(EventId = 750, Level = LogLevel.Warning, Message = "Operational alert {Kind} started: {Detail}")]
    public static partial void Started(ILogger logger, string kind, string detail);

    [LoggerMessage(EventId = 751, Level = LogLevel.Information, Message = "Operational alert {Kind} ended after {Minutes} minutes")]
    public static partial void Ended(ILogger logger, string kind, long minutes);
}
