import { expect } from 'chai';

import { chooseLanguage, translate, type MessageKey } from './i18n.ts';

describe('page language', () => {
  it('is Danish by default', () => {
    expect(chooseLanguage({})).to.equal('da');
    expect(chooseLanguage({ acceptLanguage: 'de-DE,fr;q=0.8' })).to.equal('da');
  });

  it('follows Accept-Language by q-value', () => {
    expect(chooseLanguage({ acceptLanguage: 'en-GB,en;q=0.9,da;q=0.8' })).to.equal('en');
    expect(chooseLanguage({ acceptLanguage: 'en;q=0.5,da-DK;q=0.9' })).to.equal('da');
    expect(chooseLanguage({ acceptLanguage: 'da;q=0,en' })).to.equal('en');
  });

  it('lets an explicit choice win over the browser', () => {
    expect(chooseLanguage({ chosen: 'en', acceptLanguage: 'da' })).to.equal('en');
    expect(chooseLanguage({ chosen: 'klingon', acceptLanguage: 'en' })).to.equal('en');
  });

  it('shows the key of a word it does not have (a factor kind registered without its words), rather than failing', () => {
    expect(translate('da', 'factor.kind.test_push' as MessageKey)).to.equal('factor.kind.test_push');
    expect(translate('en', 'factor.kind.code_viewer')).to.equal('Code viewer');
  });
});
