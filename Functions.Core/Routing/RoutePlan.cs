namespace Functions.Core.Routing;

/// <summary>
/// How a request's model was chosen, carried with it to whichever door calls the model: the route (null when the
/// request named a model), the candidates in order, why they were chosen, and how far the calls have come:
/// <see cref="Candidate"/> is the one being called, since call number <see cref="FirstCall"/>.
/// </summary>
public sealed record RoutePlan(
    string? Route,
    IReadOnlyList<string> Candidates,
    string Reason,
    int Candidate = 0,
    int FirstCall = 1,
    bool StaleIfError = false,
    bool FallbackOnContentFilter = false,
    IReadOnlyList<RouteFallback>? Fallbacks = null)
{
    public string Model => Candidates[Candidate];

    public string? Next => Candidate + 1 < Candidates.Count ? Candidates[Candidate + 1] : null;

    /// <summary>On to the next candidate from call <paramref name="nextCall"/>, because the current one failed with <paramref name="code"/>.</summary>
    public RoutePlan FallBack(int nextCall, string code) => this with
    {
        Candidate = Candidate + 1,
        FirstCall = nextCall,
        Fallbacks = [.. Fallbacks ?? [], new RouteFallback(Model, code)],
    };

    /// <summary>The calls made to the current candidate, once call <paramref name="call"/> is made.</summary>
    public int CallsOnCandidate(int call) => call - FirstCall + 1;

    /// <summary>What the <c>x-route</c> header says: the route's name, or nothing when the request named its model.</summary>
    public const string RouteHeader = "x-route";

    public const string ModelHeader = "x-model";
}

/// <summary>A candidate left behind, and the failure that made the request leave it.</summary>
public sealed record RouteFallback(string Model, string Code);
