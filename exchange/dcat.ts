// A listing as a DCAT-AP 3 dataset description (JSON-LD): the W3C vocabulary data portals and exchanges exchange
// catalogues in (https://semiceu.github.io/DCAT-AP/releases/3.0.0/). The context is inline, so a reader expands it
// without fetching anything. Quality scores travel as DQV measurements, the consent basis and the anchor as
// provenance and an adms:identifier. Only listed content: the same fields a buyer reads, nothing more. Pure.
import type { ListingView } from './listings.ts';

const CONTEXT = {
  dcat: 'http://www.w3.org/ns/dcat#',
  dct: 'http://purl.org/dc/terms/',
  dqv: 'http://www.w3.org/ns/dqv#',
  adms: 'http://www.w3.org/ns/adms#',
  foaf: 'http://xmlns.com/foaf/0.1/',
  skos: 'http://www.w3.org/2004/02/skos/core#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  sealgate: 'urn:sealgate:vocab#',
};

/** Frequencies as the EU Publications Office's frequency authority table names them. */
const FREQUENCY: Record<ListingView['content']['updateFrequency'], string> = {
  daily: 'DAILY',
  weekly: 'WEEKLY',
  monthly: 'MONTHLY',
  quarterly: 'QUARTERLY',
  yearly: 'ANNUAL',
};

const literal = (value: string | number, type?: string) =>
  type === undefined ? { '@value': value } : { '@value': String(value), '@type': type };

export function listingAsDcat(
  view: ListingView,
  options: { publisher: string; baseUrl: string },
): Record<string, unknown> {
  const c = view.content;
  const id = `${options.baseUrl}/v1/listings/${view.listingId}`;
  return {
    '@context': CONTEXT,
    '@id': id,
    '@type': 'dcat:Dataset',
    'dct:identifier': literal(view.registrationNo),
    'dct:title': { '@value': c.title, '@language': 'en' },
    'dct:description': { '@value': c.summary, '@language': 'en' },
    'dcat:keyword': c.dimensions.map((d) => ({ '@value': d.label, '@language': 'en' })),
    'dct:publisher': {
      '@id': `urn:sealgate:party:${options.publisher}`,
      '@type': 'foaf:Agent',
      'foaf:name': literal(options.publisher),
    },
    'dct:accrualPeriodicity': {
      '@id': `http://publications.europa.eu/resource/authority/frequency/${FREQUENCY[c.updateFrequency]}`,
    },
    'dct:modified': literal(view.updatedAt, 'xsd:dateTime'),
    'dct:spatial': c.coverage.regions.map((r) => ({ '@id': `urn:sealgate:region:${encodeURIComponent(r)}` })),
    ...(c.coverage.period === undefined
      ? {}
      : {
          'dct:temporal': {
            '@type': 'dct:PeriodOfTime',
            'dcat:startDate': literal(c.coverage.period.from, 'xsd:date'),
            'dcat:endDate': literal(c.coverage.period.to, 'xsd:date'),
          },
        }),
    'dct:provenance': {
      '@type': 'dct:ProvenanceStatement',
      'dct:description': literal(
        `sources: ${c.provenance.sources.join('; ')}; legal basis: ${c.provenance.legalBasis}` +
          `; consent basis: ${c.consentBasis.records} records of ${c.consentBasis.subjects} subjects, root ` +
          `${c.consentBasis.root}, for ${c.consentBasis.purposes.join(', ')}`,
      ),
    },
    'adms:identifier': {
      '@type': 'adms:Identifier',
      'skos:notation': literal(`0x${view.contentHash}`),
      'dct:description': literal('SHA-256 of the listed revision (RFC 8785), anchored in the package registry'),
    },
    'dqv:hasQualityMeasurement': Object.entries(c.quality).map(([dimension, q]) => ({
      '@type': 'dqv:QualityMeasurement',
      'dqv:isMeasurementOf': { '@id': `sealgate:${dimension}` },
      'dqv:value': literal(q.score, 'xsd:decimal'),
      'dct:description': literal(q.method),
    })),
    'dct:license': {
      '@type': 'dct:LicenseDocument',
      'dct:description': literal(
        `${c.licence.exclusivity}; territory ${c.licence.territory.join(', ')}; uses: ` +
          `${c.licence.permittedUses.join('; ')}; until ${c.licence.endDate}`,
      ),
    },
    'dcat:distribution': [
      {
        '@id': `${id}#compute-to-data`,
        '@type': 'dcat:Distribution',
        'dct:title': literal('Compute-to-data: results computed where the data lives, never rows'),
        'dcat:accessURL': { '@id': id },
        'dct:description': literal(`algorithms: ${c.delivery.algorithms.join(', ')}`),
      },
    ],
  };
}
